// queue_report.cc - what the API, the page and `rapportctl held` show of
// the queue in SQLite: listings, one message's record and attempts,
// people's decisions (events), expiry of held mail, stats. See
// queue_state.h.

#include "daemon/lib/queue_internal.h"

#include <sqlite3.h>

#include <ctime>

namespace rapport::daemon {


namespace {
constexpr const char* kRecordCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from,"
    " account, helo, client, size, findings, subject, header_from, header_to, message_id, updated,"
    " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'released')";

QueueRecord read_record(Stmt& s) {
    QueueRecord r;
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

std::vector<QueueRecord> SqliteQueueState::list(std::optional<Status> status, std::string_view action,
                                                std::size_t limit, std::optional<std::string_view> account) {
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
    std::vector<QueueRecord> out;
    while (s.step()) out.push_back(read_record(s));
    return out;
}

std::optional<QueueRecord> SqliteQueueState::record(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT ") + kRecordCols + " FROM messages WHERE id = ?").c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_record(s);
}

std::vector<QueueAttempt> SqliteQueueState::attempts(const std::string& id) {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT time, result FROM attempts WHERE msg_id = ? ORDER BY rowid");
    s.bind(1, id);
    std::vector<QueueAttempt> out;
    while (s.step()) out.push_back({s.i64(0), s.text(1)});
    return out;
}

bool SqliteQueueState::drop(const std::string& id) {
    bool changed = false;
    txn([&] {
        Stmt(db_, "UPDATE messages SET status = 'dropped', updated = ? WHERE id = ? AND status IN ('held', 'expired')")
            .bind(1, static_cast<std::int64_t>(::time(nullptr))).bind(2, id).step();
        changed = sqlite3_changes(db_) > 0;
    });
    return changed;
}

std::vector<std::string> SqliteQueueState::expire_held(std::int64_t cutoff) {
    {
        // Nothing to write most of the time (a sweep runs every 30 s): no
        // write transaction for nothing.
        std::lock_guard lk(mu_);
        Stmt s(db_, "SELECT EXISTS(SELECT 1 FROM messages WHERE status = 'held' AND received < ?)");
        s.bind(1, cutoff);
        if (!s.step() || s.i64(0) == 0) return {};
    }
    std::vector<std::string> ids;
    txn([&] {
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

void SqliteQueueState::add_event(const std::string& id, std::string_view kind) {
    txn([&] {
        Stmt(db_, "INSERT INTO events (msg_id, kind, time) VALUES (?, ?, ?)")
            .bind(1, id).bind(2, kind).bind(3, static_cast<std::int64_t>(::time(nullptr))).step();
    });
}

std::vector<QueueStatRow> SqliteQueueState::stat_rows() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT CASE WHEN account <> '' THEN account ELSE lower(mail_from) END, status, action, findings,"
                " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'released'),"
                " EXISTS(SELECT 1 FROM events e WHERE e.msg_id = messages.id AND e.kind = 'confirmed')"
                " FROM messages WHERE notice = 0");
    std::vector<QueueStatRow> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4) != 0, s.i64(5) != 0});
    return out;
}

bool SqliteQueueState::use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                                         std::int64_t forget_before) {
    bool ok = false;
    txn([&] {
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

std::vector<std::pair<std::string, std::int64_t>> SqliteQueueState::status_counts() {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT status, COUNT(*) FROM messages WHERE notice = 0 GROUP BY status");
    std::vector<std::pair<std::string, std::int64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), s.i64(1));
    return out;
}

} // namespace rapport::daemon
