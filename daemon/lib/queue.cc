// queue.cc - see queue.h. Spool files are written with plain POSIX calls so
// the fsync points are explicit; SQLite holds only small state rows.

#include "daemon/lib/queue.h"

#include "daemon/lib/background.h"

#include "common/files.h"
#include "common/sqlite.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <random>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {

using sqlite::Stmt;
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

QueueRow read_row(Stmt& s) {
    QueueRow r;
    r.id = s.text(0);
    r.status = parse_status(s.text(1)).value_or(Status::queued);
    r.action = s.text(2);
    r.attempts = static_cast<int>(s.i64(3));
    r.received = s.i64(4);
    r.next_attempt = s.i64(5);
    r.last_error = s.text(6);
    r.notice = s.i64(7) != 0;
    r.mail_from = s.text(8);
    return r;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

constexpr const char* kRowCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from";

} // namespace

std::string_view to_string(Status s) {
    switch (s) {
    case Status::queued: return "queued";
    case Status::held: return "held";
    case Status::relayed: return "relayed";
    case Status::failed: return "failed";
    case Status::captured: return "captured";
    case Status::rejected: return "rejected";
    case Status::dropped: return "dropped";
    case Status::expired: return "expired";
    }
    return "queued";
}

std::optional<Status> parse_status(std::string_view s) {
    for (Status st : {Status::queued, Status::held, Status::relayed, Status::failed, Status::captured,
                      Status::rejected, Status::dropped, Status::expired})
        if (to_string(st) == s) return st;
    return std::nullopt;
}

Queue::Queue(const std::string& state_dir) : dir_(state_dir), spool_(state_dir + "/spool") {
    common::mkdirs(spool_);
    spool_fd_ = ::open(spool_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (spool_fd_ < 0) sys_fail("open " + spool_);
    std::string db = dir_ + "/queue.db";
    db_ = sqlite::open(db, true);
    sqlite::exec(db_, "PRAGMA journal_mode=WAL");
    // The spool file, fsync'd before 250, is the durability point; see queue.h.
    sqlite::exec(db_, "PRAGMA synchronous=NORMAL");
    sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS messages ("
         " id TEXT PRIMARY KEY, received INTEGER, mail_from TEXT, account TEXT, helo TEXT, client TEXT,"
         " size INTEGER, status TEXT, action TEXT, findings TEXT, subject TEXT, header_from TEXT,"
         " header_to TEXT, message_id TEXT, attempts INTEGER DEFAULT 0, next_attempt INTEGER DEFAULT 0,"
         " last_error TEXT DEFAULT '', notice INTEGER DEFAULT 0, updated INTEGER)");
    sqlite::exec(db_, "CREATE INDEX IF NOT EXISTS messages_status ON messages(status, received)");
    sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS recipients ("
         " msg_id TEXT, rcpt TEXT, status TEXT, code INTEGER DEFAULT 0, reply TEXT DEFAULT '',"
         " PRIMARY KEY (msg_id, rcpt))");
    sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS attempts (msg_id TEXT, time INTEGER, result TEXT)");
    // What people decided about a message (released, dropped, ...).
    sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS events (msg_id TEXT, kind TEXT, time INTEGER)");
    sqlite::exec(db_, "CREATE INDEX IF NOT EXISTS events_msg ON events(msg_id, kind)");
    // The relay's intent: when the current attempt began, 0 when none is under way.
    bool has_sending = false;
    {
        Stmt cols(db_, "PRAGMA table_info(messages)");
        while (cols.step()) has_sending |= cols.text(1) == "sending";
    }
    if (!has_sending) sqlite::exec(db_, "ALTER TABLE messages ADD COLUMN sending INTEGER NOT NULL DEFAULT 0");
    // probe_write()'s one row.
    sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS probe (k INTEGER PRIMARY KEY, t INTEGER)");
}

Queue::~Queue() {
    log_.reset(); // stops its thread before the rest goes
    if (db_) sqlite3_close(db_);
    if (spool_fd_ >= 0) ::close(spool_fd_);
}

template <class F>
void Queue::write_txn(const char* what, F&& body) {
    bool resumed = false;
    {
        std::lock_guard lk(mu_);
        try {
            sqlite::Transaction txn(db_);
            body();
            txn.commit();
        } catch (const sqlite::Error& e) {
            std::string msg = std::string(what) + ": " + e.what();
            write_error_ = msg;
            failing_ = true;
            throw StorageError(msg, e.disk_full());
        }
        resumed = failing_.exchange(false);
        if (resumed) write_error_.clear();
    }
    if (resumed) {
        std::lock_guard lk(resumed_mu_);
        for (auto& [handle, f] : resumed_) f();
    }
}

std::size_t Queue::on_writes_resumed(std::function<void()> f) {
    std::lock_guard lk(resumed_mu_);
    resumed_.emplace(next_resumed_, std::move(f));
    return next_resumed_++;
}

void Queue::forget_writes_resumed(std::size_t handle) {
    std::lock_guard lk(resumed_mu_);
    resumed_.erase(handle);
}

std::string Queue::write_error() const {
    std::lock_guard lk(mu_);
    return write_error_;
}

bool Queue::probe_write() {
    try {
        write_txn("probe", [&] {
            Stmt(db_, "INSERT OR REPLACE INTO probe (k, t) VALUES (1, ?)")
                .bind(1, static_cast<std::int64_t>(::time(nullptr))).step();
        });
        return true;
    } catch (const StorageError&) {
        return false;
    }
}

std::string Queue::new_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    // Not under mu_: that is the database's lock, held through transactions
    // (and their WAL checkpoints), and a new id is on the path to the 250.
    std::uint64_t n = ++counter_;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%013llx%04llx%04x", static_cast<unsigned long long>(us),
                  static_cast<unsigned long long>(n & 0xffff), static_cast<unsigned>(rng() & 0xffff));
    return buf;
}

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
    std::string digest;
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
        else if (key == "sha256") digest = val;
    }
    m.data = buf.substr(end + 2);
    if (!digest.empty() && size != std::string::npos && m.data.size() >= size) {
        // From a release that kept messages in preallocated "slot" files:
        // the rest is padding, the digest tells a torn write.
        m.data.resize(size);
        if (sha256_hex(m.data) != digest) return std::nullopt;
        return m;
    }
    if (size != std::string::npos && m.data.size() != size) return std::nullopt; // cut short by a crash
    return m;
}
} // namespace

std::optional<SpooledMessage> Queue::read_spool(const std::string& id) const {
    if (log_) {
        if (auto image = log_->read(id)) return parse_spool(id, *image);
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
    return parse_spool(id, buf);
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

void Queue::insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                   std::int64_t next_attempt) {
    write_txn("record the message", [&] {
        Stmt(db_, "INSERT OR REPLACE INTO messages (id, received, mail_from, account, helo, client, size, status,"
                  " action, findings, subject, header_from, header_to, message_id, attempts, next_attempt,"
                  " last_error, notice, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,'',?,?)")
            .bind(1, id).bind(2, env.received).bind(3, env.mail_from).bind(4, env.account).bind(5, env.helo)
            .bind(6, env.client).bind(7, static_cast<std::int64_t>(info.size)).bind(8, to_string(status))
            .bind(9, info.action).bind(10, info.findings_json).bind(11, info.subject).bind(12, info.header_from)
            .bind(13, info.header_to).bind(14, info.message_id).bind(15, next_attempt)
            .bind(16, static_cast<std::int64_t>(env.notice)).bind(17, static_cast<std::int64_t>(::time(nullptr)))
            .step();
        Stmt(db_, "DELETE FROM recipients WHERE msg_id = ?").bind(1, id).step();
        Stmt ins(db_, "INSERT OR IGNORE INTO recipients (msg_id, rcpt, status) VALUES (?, ?, 'pending')");
        for (const auto& r : env.rcpts) {
            ins.reset();
            ins.bind(1, id).bind(2, r).step();
        }
    });
}

std::optional<QueueRow> Queue::row(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRowCols + " FROM messages WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_row(s);
}

std::vector<QueueRow> Queue::rows_with_status(Status st) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRowCols + " FROM messages WHERE status = ? ORDER BY received, id").c_str());
    s.bind(1, to_string(st));
    std::vector<QueueRow> out;
    while (s.step()) out.push_back(read_row(s));
    return out;
}

std::vector<RecipientState> Queue::recipients(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT rcpt, status, code, reply FROM recipients WHERE msg_id = ? ORDER BY rowid");
    s.bind(1, id);
    std::vector<RecipientState> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), static_cast<int>(s.i64(2)), s.text(3)});
    return out;
}

bool Queue::begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) {
    bool queued = false;
    write_txn("record the intent to send", [&] {
        auto now = static_cast<std::int64_t>(::time(nullptr));
        Stmt(db_, "UPDATE messages SET attempts = ?, next_attempt = ?, sending = ?, updated = ?"
                  " WHERE id = ? AND status = 'queued'")
            .bind(1, static_cast<std::int64_t>(attempt)).bind(2, next_attempt).bind(3, now).bind(4, now).bind(5, id)
            .step();
        queued = sqlite3_changes(db_) > 0;
    });
    return queued;
}

std::vector<std::string> Queue::interrupted() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT id FROM messages WHERE status = 'queued' AND sending <> 0 ORDER BY received, id");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

void Queue::record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                           int attempts, std::int64_t next_attempt, const std::string& last_error) {
    write_txn("record the outcome", [&] {
        Stmt up(db_, "UPDATE recipients SET status = ?, code = ?, reply = ? WHERE msg_id = ? AND rcpt = ?");
        std::string summary;
        for (const auto& r : results) {
            up.reset();
            up.bind(1, r.status).bind(2, static_cast<std::int64_t>(r.code)).bind(3, r.reply).bind(4, id)
                .bind(5, r.rcpt).step();
            summary += r.rcpt + "=" + std::to_string(r.code) + " ";
        }
        Stmt(db_, "UPDATE messages SET status = ?, attempts = ?, next_attempt = ?, last_error = ?, updated = ?,"
                  " sending = 0 WHERE id = ?")
            .bind(1, to_string(status)).bind(2, static_cast<std::int64_t>(attempts)).bind(3, next_attempt)
            .bind(4, last_error).bind(5, static_cast<std::int64_t>(::time(nullptr))).bind(6, id).step();
        Stmt(db_, "INSERT INTO attempts (msg_id, time, result) VALUES (?, ?, ?)")
            .bind(1, id).bind(2, static_cast<std::int64_t>(::time(nullptr)))
            .bind(3, last_error.empty() ? summary : last_error).step();
    });
}

void Queue::set_status(const std::string& id, Status st) {
    write_txn("set the status", [&] {
        Stmt(db_, "UPDATE messages SET status = ?, updated = ? WHERE id = ?")
            .bind(1, to_string(st)).bind(2, static_cast<std::int64_t>(::time(nullptr))).bind(3, id).step();
    });
}

bool Queue::release(const std::string& id) {
    bool changed = false;
    write_txn("release", [&] {
        Stmt(db_, "UPDATE messages SET status = 'queued', next_attempt = 0, updated = ? WHERE id = ? AND status = 'held'")
            .bind(1, static_cast<std::int64_t>(::time(nullptr))).bind(2, id).step();
        changed = sqlite3_changes(db_) > 0;
    });
    return changed;
}

// --- For the HTTP API and `rapportctl held` ----------------------------------

namespace {
constexpr const char* kRecordCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from,"
    " account, helo, client, size, findings, subject, header_from, header_to, message_id, updated,"
    " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'released')";

Queue::Record read_record(Stmt& s) {
    Queue::Record r;
    r.row = read_row(s);
    r.account = s.text(9);
    r.helo = s.text(10);
    r.client = s.text(11);
    r.info.size = static_cast<std::size_t>(s.i64(12));
    r.info.action = r.row.action;
    r.info.findings_json = s.text(13);
    r.info.subject = s.text(14);
    r.info.header_from = s.text(15);
    r.info.header_to = s.text(16);
    r.info.message_id = s.text(17);
    r.updated = s.i64(18);
    r.released = s.i64(19) != 0;
    return r;
}
} // namespace

std::vector<Queue::Record> Queue::list(std::optional<Status> status, std::string_view action, std::size_t limit,
                                       std::optional<std::string_view> account) {
    std::lock_guard lk(mu_);
    std::string sql = std::string("SELECT ") + kRecordCols + " FROM messages WHERE notice = 0";
    if (status) sql += " AND status = ?1";
    if (!action.empty()) sql += " AND action = ?2";
    if (account) sql += " AND account = ?4";
    sql += " ORDER BY received DESC, id DESC LIMIT ?3";
    Stmt s(db_, sql.c_str());
    if (status) s.bind(1, to_string(*status));
    if (!action.empty()) s.bind(2, action);
    if (account) s.bind(4, *account);
    s.bind(3, static_cast<std::int64_t>(limit));
    std::vector<Record> out;
    while (s.step()) out.push_back(read_record(s));
    return out;
}

std::optional<Queue::Record> Queue::record(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRecordCols + " FROM messages WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_record(s);
}

std::vector<Queue::Attempt> Queue::attempts(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT time, result FROM attempts WHERE msg_id = ? ORDER BY rowid");
    s.bind(1, id);
    std::vector<Attempt> out;
    while (s.step()) out.push_back({s.i64(0), s.text(1)});
    return out;
}

bool Queue::drop(const std::string& id) {
    bool changed = false;
    write_txn("drop", [&] {
        Stmt(db_, "UPDATE messages SET status = 'dropped', updated = ? WHERE id = ? AND status IN ('held', 'expired')")
            .bind(1, static_cast<std::int64_t>(::time(nullptr))).bind(2, id).step();
        changed = sqlite3_changes(db_) > 0;
    });
    return changed;
}

std::vector<std::string> Queue::expire_held(std::int64_t cutoff) {
    {
        // Nothing to write most of the time (a sweep runs every 30 s): no
        // write transaction for nothing.
        std::lock_guard lk(mu_);
        Stmt s(db_, "SELECT EXISTS(SELECT 1 FROM messages WHERE status = 'held' AND received < ?)");
        s.bind(1, cutoff);
        if (!s.step() || s.i64(0) == 0) return {};
    }
    std::vector<std::string> ids;
    write_txn("expire held mail", [&] {
        ids.clear();
        {
            Stmt s(db_, "SELECT id FROM messages WHERE status = 'held' AND received < ?");
            s.bind(1, cutoff);
            while (s.step()) ids.push_back(s.text(0));
        }
        for (const auto& id : ids)
            Stmt(db_, "UPDATE messages SET status = 'expired', updated = ? WHERE id = ? AND status = 'held'")
                .bind(1, static_cast<std::int64_t>(::time(nullptr))).bind(2, id).step();
    });
    return ids;
}

void Queue::add_event(const std::string& id, std::string_view kind) {
    write_txn("record an event", [&] {
        Stmt(db_, "INSERT INTO events (msg_id, kind, time) VALUES (?, ?, ?)")
            .bind(1, id).bind(2, kind).bind(3, static_cast<std::int64_t>(::time(nullptr))).step();
    });
}

std::vector<Queue::StatRow> Queue::stat_rows() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT CASE WHEN account <> '' THEN account ELSE lower(mail_from) END, status, action, findings,"
                " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'released'),"
                " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'confirmed')"
                " FROM messages WHERE notice = 0");
    std::vector<StatRow> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4) != 0, s.i64(5) != 0});
    return out;
}

bool Queue::use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                              std::int64_t forget_before) {
    bool ok = false;
    write_txn("remember a confirmation", [&] {
        sqlite::exec(db_, "CREATE TABLE IF NOT EXISTS confirm_nonces (nonce TEXT PRIMARY KEY, message_id TEXT, time INTEGER)");
        Stmt(db_, "DELETE FROM confirm_nonces WHERE time < ?").bind(1, forget_before).step();
        Stmt(db_, "INSERT OR IGNORE INTO confirm_nonces (nonce, message_id, time) VALUES (?, ?, ?)")
            .bind(1, nonce).bind(2, message_id).bind(3, now).step();
        if (sqlite3_changes(db_) > 0) {
            ok = true;
            return;
        }
        if (message_id.empty()) return;
        Stmt s(db_, "SELECT 1 FROM confirm_nonces WHERE nonce = ? AND message_id = ?");
        s.bind(1, nonce).bind(2, message_id);
        ok = s.step();
    });
    return ok;
}

std::vector<std::pair<std::string, std::int64_t>> Queue::status_counts() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT status, COUNT(*) FROM messages WHERE notice = 0 GROUP BY status");
    std::vector<std::pair<std::string, std::int64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), s.i64(1));
    return out;
}

} // namespace rapport::daemon
