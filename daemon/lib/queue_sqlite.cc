// queue_sqlite.cc - the queue's state rows in <state>/queue.db, for one
// rapportd on one machine: where each spooled message stands (queued,
// held, relayed, ...) and the relay's bookkeeping. Listings and stats:
// queue_report.cc. See queue_state.h.

#include "daemon/lib/queue_internal.h"

#include <sqlite3.h>

#include <ctime>

namespace rapport::daemon {

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

SqliteQueueState::SqliteQueueState(const std::string& path) {
    db_ = sqlite::open(path, true);
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

SqliteQueueState::~SqliteQueueState() {
    if (db_) sqlite3_close(db_);
}

void SqliteQueueState::probe_write() {
    txn([&] {
        Stmt(db_, "INSERT OR REPLACE INTO probe (k, t) VALUES (1, ?)")
            .bind(1, static_cast<std::int64_t>(::time(nullptr))).step();
    });
}

void SqliteQueueState::insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                              std::int64_t next_attempt, std::string_view /*image: the local spool keeps it*/) {
    txn([&] {
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

std::optional<QueueRow> SqliteQueueState::row(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRowCols + " FROM messages WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_row(s);
}

std::vector<QueueRow> SqliteQueueState::rows_with_status(Status st) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRowCols + " FROM messages WHERE status = ? ORDER BY received, id").c_str());
    s.bind(1, to_string(st));
    std::vector<QueueRow> out;
    while (s.step()) out.push_back(read_row(s));
    return out;
}

std::vector<RecipientState> SqliteQueueState::recipients(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT rcpt, status, code, reply FROM recipients WHERE msg_id = ? ORDER BY rowid");
    s.bind(1, id);
    std::vector<RecipientState> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), static_cast<int>(s.i64(2)), s.text(3)});
    return out;
}

bool SqliteQueueState::begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) {
    bool queued = false;
    txn([&] {
        auto now = static_cast<std::int64_t>(::time(nullptr));
        Stmt(db_, "UPDATE messages SET attempts = ?, next_attempt = ?, sending = ?, updated = ?"
                  " WHERE id = ? AND status = 'queued'")
            .bind(1, static_cast<std::int64_t>(attempt)).bind(2, next_attempt).bind(3, now).bind(4, now).bind(5, id)
            .step();
        queued = sqlite3_changes(db_) > 0;
    });
    return queued;
}

std::vector<std::string> SqliteQueueState::interrupted() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT id FROM messages WHERE status = 'queued' AND sending <> 0 ORDER BY received, id");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

void SqliteQueueState::record_attempt(const std::string& id, const std::vector<RecipientState>& results,
                                      Status status, int attempts, std::int64_t next_attempt,
                                      const std::string& last_error) {
    txn([&] {
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

void SqliteQueueState::set_status(const std::string& id, Status st) {
    txn([&] {
        Stmt(db_, "UPDATE messages SET status = ?, updated = ? WHERE id = ?")
            .bind(1, to_string(st)).bind(2, static_cast<std::int64_t>(::time(nullptr))).bind(3, id).step();
    });
}

bool SqliteQueueState::release(const std::string& id) {
    bool changed = false;
    txn([&] {
        Stmt(db_, "UPDATE messages SET status = 'queued', next_attempt = 0, updated = ? WHERE id = ? AND status = 'held'")
            .bind(1, static_cast<std::int64_t>(::time(nullptr))).bind(2, id).step();
        changed = sqlite3_changes(db_) > 0;
    });
    return changed;
}

} // namespace rapport::daemon
