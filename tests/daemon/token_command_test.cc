// token_command_test.cc - the OAuth2 token helper as rapportd runs it: words
// without a shell, the first line of real programs' output, failures in
// words for people, and TokenSource's "run again once per refusal" (counted
// by a real command that writes down each time it runs).

#include "daemon/lib/token_command.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

using namespace rapport::daemon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/rapport-token-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// A command printing "token-N" on its N-th run, counting runs in `counter`.
std::string counting_command(const fs::path& counter) {
    return "sh -c 'n=$(cat " + counter.string() + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " +
           counter.string() + "; echo token-$n'";
}

int runs(const fs::path& counter) {
    std::ifstream in(counter);
    int n = 0;
    in >> n;
    return n;
}

} // namespace

TEST(TokenCommand, Words) {
    EXPECT_EQ(split_command("oauth2l fetch --json"), (std::vector<std::string>{"oauth2l", "fetch", "--json"}));
    EXPECT_EQ(split_command("  pass show 'mail/my account'  "), (std::vector<std::string>{"pass", "show", "mail/my account"}));
    EXPECT_EQ(split_command(R"(sh -c "echo \"x y\"" a\ b)"), (std::vector<std::string>{"sh", "-c", "echo \"x y\"", "a b"}));
    EXPECT_EQ(split_command("cmd ''"), (std::vector<std::string>{"cmd", ""}));
    EXPECT_TRUE(split_command("   ").empty());
}

TEST(TokenCommand, FirstLineAndFailures) {
    EXPECT_EQ(run_token_command("printf 'ya29.token-1\\nsecond line\\n'", 5), "ya29.token-1");
    EXPECT_EQ(run_token_command("echo '  spaced token  '", 5), "  spaced token");
    auto fails = [](const std::string& cmd, unsigned timeout, const std::string& why) {
        try {
            run_token_command(cmd, timeout);
            ADD_FAILURE() << "no error from " << cmd;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    };
    fails("false", 5, "failed (exit status 1)");
    fails("sh -c 'echo secret-token; exit 3'", 5, "failed (exit status 3)");
    fails("true", 5, "printed no token");
    fails("/nonexistent/token-tool --account x", 5, "could not be started");
    fails("", 5, "empty");
    auto t0 = std::chrono::steady_clock::now();
    fails("sleep 30", 1, "did not finish within 1 s");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "the command was not killed";
    // No shell: a semicolon is an argument, not a second command.
    EXPECT_EQ(run_token_command("echo a;touch /tmp/rapport-no-shell", 5), "a;touch /tmp/rapport-no-shell");
}

TEST(TokenCommand, FailureNeverCarriesTheOutput) {
    try {
        run_token_command("sh -c 'echo ya29.do-not-show; exit 1'", 5);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).find("ya29"), std::string::npos) << e.what();
    }
}

TEST(TokenSource, KeptUntilRefusedThenRunOnce) {
    TempDir dir;
    fs::path counter = dir.path / "runs";
    TokenSource tokens(counting_command(counter), 5);
    EXPECT_EQ(runs(counter), 0) << "nothing runs before a token is needed";
    EXPECT_EQ(tokens.get(), "token-1");
    EXPECT_EQ(tokens.get(), "token-1");
    EXPECT_EQ(runs(counter), 1) << "the token is kept in memory";
    EXPECT_EQ(tokens.renew("token-1"), "token-2");
    EXPECT_EQ(runs(counter), 2);
    // A refusal of a token already replaced runs nothing: another
    // connection has renewed it meanwhile.
    EXPECT_EQ(tokens.renew("token-1"), "token-2");
    EXPECT_EQ(runs(counter), 2);
    EXPECT_EQ(tokens.get(), "token-2");
}

TEST(TokenSource, ManyRefusalsOfOneTokenRunItOnce) {
    TempDir dir;
    fs::path counter = dir.path / "runs";
    TokenSource tokens(counting_command(counter), 10);
    std::string stale = tokens.get();
    std::vector<std::thread> threads;
    std::vector<std::string> got(4);
    for (std::size_t i = 0; i < got.size(); ++i)
        threads.emplace_back([&, i] { got[i] = tokens.renew(stale); });
    for (auto& t : threads) t.join();
    for (const auto& g : got) EXPECT_EQ(g, "token-2");
    EXPECT_EQ(runs(counter), 2);
}

TEST(TokenSource, AFailedRunKeepsNoStaleToken) {
    TempDir dir;
    fs::path flag = dir.path / "fail";
    // Prints "good" until the flag file exists, then fails.
    TokenSource tokens("sh -c 'test -e " + flag.string() + " && exit 1; echo good'", 5);
    EXPECT_EQ(tokens.get(), "good");
    std::ofstream(flag) << "x";
    EXPECT_THROW(tokens.renew("good"), std::runtime_error);
    // The refused token is gone: the next sign-in asks the command again.
    EXPECT_THROW(tokens.get(), std::runtime_error);
    fs::remove(flag);
    EXPECT_EQ(tokens.get(), "good");
}
