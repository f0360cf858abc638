// queue_spool.cc - the spool: each accepted message's bytes with its
// envelope, on disk before the 250 (a file of its own, fsync'd with its
// directory, or a record in the spool log). Written with plain POSIX calls
// so the fsync points are explicit. See queue.h.

#include "daemon/lib/queue_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {
namespace {

constexpr std::string_view kMagic = "RAPPORT-SPOOL 1\n";

[[noreturn]] void sys_fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Writes all of `data`, retrying short writes and EINTR.
void write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            sys_fail("write " + path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

std::string Queue::spool_path(const std::string& id) const { return spool_ + "/" + id; }

std::string Queue::spool_head(const Envelope& env, std::string_view data) const {
    std::string head(kMagic);
    head += "from " + env.mail_from + "\n";
    for (const auto& r : env.rcpts) head += "rcpt " + r + "\n";
    if (!env.account.empty()) head += "account " + env.account + "\n";
    if (!env.helo.empty()) head += "helo " + env.helo + "\n";
    if (!env.client.empty()) head += "client " + env.client + "\n";
    head += "received " + std::to_string(env.received) + "\n";
    if (env.notice) head += "notice 1\n";
    head += "size " + std::to_string(data.size()) + "\n";
    head += "\n";
    return head;
}

void Queue::write_spool(const std::string& id, const Envelope& env, std::string_view data) {
    write_spool_image(id, spool_head(env, data), data);
}

void Queue::write_spool_image(const std::string& id, std::string_view head, std::string_view data) {
    // Written under its final name, no rename: the file's fdatasync then
    // commits its directory entry in the same ext4 journal transaction, so
    // the directory fsync below usually finds nothing left to do - one
    // journal commit per message instead of two. A file cut short by a
    // crash is recognised by its "size" line and was never acknowledged.
    std::string path = spool_path(id);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) sys_fail("create " + path);
    try {
        write_all(fd, head, path);
        write_all(fd, data, path);
        // fdatasync: the file's size and blocks count as data here (POSIX).
        if (::fdatasync(fd) != 0) sys_fail("fdatasync " + path);
    } catch (...) {
        ::close(fd);
        ::unlink(path.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        ::unlink(path.c_str());
        sys_fail("close " + path);
    }
    sync_dir();
}

// Makes every file created so far durable in the directory. Writers that finish while one
// directory fsync runs share the next one: with 20 concurrent sessions this
// turns 20 directory fsyncs into 2 or 3 (group commit), and no caller
// returns before an fsync that started after its own file was created.
void Queue::sync_dir() {
    std::unique_lock lk(dir_mu_);
    std::uint64_t mine = ++renamed_;
    while (dir_synced_ < mine) {
        if (dir_syncing_) {
            dir_cv_.wait(lk);
            continue;
        }
        dir_syncing_ = true;
        std::uint64_t target = renamed_;
        lk.unlock();
        int rc = ::fsync(spool_fd_);
        int err = errno;
        lk.lock();
        dir_syncing_ = false;
        if (rc == 0) dir_synced_ = std::max(dir_synced_, target);
        dir_cv_.notify_all();
        if (rc != 0) {
            errno = err;
            sys_fail("fsync " + spool_);
        }
    }
}

namespace {
// Parses a spool image: the envelope lines, a blank line, the message.
std::optional<SpooledMessage> parse_spool(const std::string& id, const std::string& buf) {
    if (buf.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
    auto end = buf.find("\n\n", kMagic.size() - 1);
    if (end == std::string::npos) return std::nullopt;
    SpooledMessage m;
    m.id = id;
    std::size_t size = std::string::npos; // absent in files from before the "size" line
    std::size_t pos = kMagic.size();
    while (pos < end + 1) {
        auto nl = buf.find('\n', pos);
        std::string line = buf.substr(pos, nl - pos);
        pos = nl + 1;
        auto sp = line.find(' ');
        std::string key = line.substr(0, sp), val = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (key == "from") m.env.mail_from = val;
        else if (key == "rcpt") m.env.rcpts.push_back(val);
        else if (key == "account") m.env.account = val;
        else if (key == "helo") m.env.helo = val;
        else if (key == "client") m.env.client = val;
        else if (key == "received") m.env.received = std::strtoll(val.c_str(), nullptr, 10);
        else if (key == "notice") m.env.notice = val == "1";
        else if (key == "size") size = std::strtoull(val.c_str(), nullptr, 10);
    }
    m.data = buf.substr(end + 2);
    if (size != std::string::npos && m.data.size() != size) return std::nullopt; // cut short by a crash
    return m;
}
} // namespace

std::optional<std::string> Queue::local_image(const std::string& id) const {
    if (log_) {
        if (auto image = log_->read(id)) return image;
    }
    std::string path = spool_path(id);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string buf;
    struct stat st{};
    if (::fstat(fd, &st) == 0) buf.reserve(static_cast<std::size_t>(st.st_size));
    char chunk[65536];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return buf;
}

std::optional<SpooledMessage> Queue::read_spool(const std::string& id) const {
    // Here first: a message not yet in the shared store, or no store at all.
    if (auto image = local_image(id)) return parse_spool(id, *image);
    if (auto image = state_->image(id)) return parse_spool(id, *image);
    return std::nullopt;
}

void Queue::remove_spool(const std::string& id) {
    // Both places: a record moved out of the log while this runs ends up
    // as a file (and SpoolLog takes the file back if it was still writing).
    if (log_) log_->remove(id);
    ::unlink(spool_path(id).c_str());
}

void Queue::enable_log(const SpoolLog::Options& opt, std::function<void()> on_ready) {
    if (log_ || opt.segment_size == 0) return;
    SpoolLog::MoveOut out;
    out.write = [this](const std::string& id, std::string_view image) { write_spool_image(id, image, {}); };
    out.unwrite = [this](const std::string& id) { ::unlink(spool_path(id).c_str()); };
    log_ = std::make_unique<SpoolLog>(dir_ + "/spool-log", opt, std::move(out));
    log_->start(std::move(on_ready));
}

bool Queue::wait_log_ready(std::chrono::milliseconds timeout) { return log_ && log_->wait_ready(timeout); }

std::string Queue::spool_new(const Envelope& env, std::string_view data) {
    std::string id = new_id();
    if (log_ && log_->append(id, spool_head(env, data), data)) return id;
    write_spool(id, env, data);
    return id;
}

std::vector<std::string> Queue::spool_ids() {
    std::vector<std::string> ids;
    DIR* d = ::opendir(spool_.c_str());
    if (!d) sys_fail("opendir " + spool_);
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (name[0] == '.') { // an unfinished write: never acknowledged, so never owed
            ::unlinkat(spool_fd_, name.c_str(), 0);
            continue;
        }
        ids.push_back(name);
    }
    ::closedir(d);
    if (log_) {
        auto more = log_->ids();
        ids.insert(ids.end(), more.begin(), more.end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end()); // in both after a crash mid-move
    return ids;
}

} // namespace rapport::daemon
