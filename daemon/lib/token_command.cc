// token_command.cc - see token_command.h.

#include "daemon/lib/token_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace rapport::daemon {
namespace {

// More than any access token; a helper that prints megabytes is cut off here.
constexpr std::size_t kMaxOutput = 64 * 1024;

// Overwrites a secret before its memory is given back.
void wipe(std::string& s) {
    if (!s.empty()) ::explicit_bzero(s.data(), s.size());
    s.clear();
}

} // namespace

std::vector<std::string> split_command(std::string_view line) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote) {
            if (c == quote) quote = 0;
            else if (c == '\\' && quote == '"' && i + 1 < line.size()) cur += line[++i];
            else cur += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            have = true;
        } else if (c == '\\' && i + 1 < line.size()) {
            cur += line[++i];
            have = true;
        } else if (c == ' ' || c == '\t') {
            if (have) out.push_back(std::move(cur));
            cur.clear();
            have = false;
        } else {
            cur += c;
            have = true;
        }
    }
    if (have) out.push_back(std::move(cur));
    return out;
}

std::string run_token_command(const std::string& line, unsigned timeout) {
    std::vector<std::string> words = split_command(line);
    if (words.empty()) throw std::runtime_error("the oauth_token_command is empty");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot run the oauth_token_command (no pipe)");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        throw std::runtime_error("the oauth_token_command could not be started (" + words[0] + ": " +
                                 std::strerror(rc) + ")");
    }
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    bool timed_out = false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        char buf[4096];
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out.size() < kMaxOutput) out.append(buf, static_cast<std::size_t>(n));
        ::explicit_bzero(buf, sizeof buf);
    }
    ::close(fds[0]);
    if (timed_out) ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    std::string first = out.substr(0, out.find('\n'));
    wipe(out);
    while (!first.empty() && std::isspace(static_cast<unsigned char>(first.back()))) first.pop_back();
    std::string why;
    if (timed_out) why = "the oauth_token_command did not finish within " + std::to_string(timeout) + " s";
    else if (WIFSIGNALED(st)) why = "the oauth_token_command was killed by signal " + std::to_string(WTERMSIG(st));
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        why = "the oauth_token_command failed (exit status " + std::to_string(WEXITSTATUS(st)) + ")";
    else if (first.empty()) why = "the oauth_token_command printed no token";
    if (!why.empty()) {
        wipe(first);
        throw std::runtime_error(why);
    }
    return first;
}

TokenSource::TokenSource(std::string command, unsigned timeout) : command_(std::move(command)), timeout_(timeout) {}

TokenSource::~TokenSource() { wipe(token_); }

void TokenSource::replace(std::string token) {
    wipe(token_);
    token_ = std::move(token);
}

std::string TokenSource::get() {
    std::lock_guard lk(mu_);
    if (token_.empty()) replace(run_token_command(command_, timeout_));
    return token_;
}

std::string TokenSource::renew(const std::string& refused) {
    std::lock_guard lk(mu_);
    if (token_.empty() || token_ == refused) {
        wipe(token_); // refused: never offered again, even if the command fails now
        replace(run_token_command(command_, timeout_));
    }
    return token_;
}

} // namespace rapport::daemon
