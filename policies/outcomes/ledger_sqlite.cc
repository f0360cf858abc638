// ledger_sqlite.cc - the reply ledger's rows in SQLite (ledger_rows.h):
// <state>/ledger.db on one machine. The statements run for each record
// and each received message are prepared once and kept.

#include "policies/outcomes/ledger_rows.h"

#include "common/sqlite.h"
#include "common/strings.h"

#include <sqlite3.h>

#include <unordered_map>

namespace rapport::policies::outcomes {
namespace {
using common::split;

// Schema 1 (PRAGMA user_version), what a new ledger gets.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS outgoing (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  message_id TEXT NOT NULL DEFAULT '',
  refs TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  fate TEXT NOT NULL,
  time INTEGER NOT NULL,
  application INTEGER NOT NULL,
  class TEXT NOT NULL DEFAULT '',
  rules TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outgoing_by_message_id ON outgoing(message_id, account);
CREATE INDEX IF NOT EXISTS outgoing_account_time ON outgoing(account, time);
-- Covers what matching asks of a candidate, so no table row is read for it.
CREATE INDEX IF NOT EXISTS outgoing_candidate ON outgoing(id, fate, application, time, account);
CREATE TABLE IF NOT EXISTS outgoing_rcpt (
  outgoing_id TEXT NOT NULL,
  address TEXT NOT NULL,
  org TEXT NOT NULL DEFAULT '',
  org_keys TEXT NOT NULL DEFAULT '',
  bounced INTEGER NOT NULL DEFAULT 0,
  name TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (outgoing_id, address)
);
CREATE INDEX IF NOT EXISTS outgoing_rcpt_by_address ON outgoing_rcpt(address, outgoing_id);
CREATE INDEX IF NOT EXISTS outgoing_rcpt_by_org_id ON outgoing_rcpt(org, outgoing_id);
CREATE TABLE IF NOT EXISTS org_keys (
  key TEXT NOT NULL,
  outgoing_id TEXT NOT NULL,
  PRIMARY KEY (key, outgoing_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers (
  outgoing_id TEXT NOT NULL,
  incoming TEXT NOT NULL,
  kind TEXT NOT NULL,
  match TEXT NOT NULL,
  time INTEGER NOT NULL,
  PRIMARY KEY (outgoing_id, incoming)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incoming_seen (key TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS own_addresses (address TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS inbox_folders (
  folder TEXT PRIMARY KEY,
  uidvalidity INTEGER NOT NULL,
  last_uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  read INTEGER NOT NULL
);
PRAGMA user_version = 1;
)sql";

// Schema 0 to 1: the recipients' names; the organisation keys of each
// application indexed (filled from outgoing_rcpt); the indexes matching
// uses made covering (kSchema adds them); the answers and the
// received-message keys in tables without a rowid (one B-tree each, not a
// table and an index: half the pages written per received message).
const char* kSchema0To1 = R"sql(
CREATE TABLE IF NOT EXISTS answers (outgoing_id TEXT NOT NULL, incoming TEXT NOT NULL, kind TEXT NOT NULL,
  match TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (outgoing_id, incoming));
CREATE TABLE IF NOT EXISTS incoming_seen (key TEXT PRIMARY KEY, time INTEGER NOT NULL);
ALTER TABLE outgoing_rcpt ADD COLUMN name TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS outgoing_rcpt_address;
DROP INDEX IF EXISTS outgoing_rcpt_by_org;
CREATE TABLE org_keys (key TEXT NOT NULL, outgoing_id TEXT NOT NULL, PRIMARY KEY (key, outgoing_id)) WITHOUT ROWID;
CREATE TABLE answers_1 (outgoing_id TEXT NOT NULL, incoming TEXT NOT NULL, kind TEXT NOT NULL,
  match TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (outgoing_id, incoming)) WITHOUT ROWID;
INSERT INTO answers_1 SELECT outgoing_id, incoming, kind, match, time FROM answers;
DROP TABLE answers;
ALTER TABLE answers_1 RENAME TO answers;
CREATE TABLE incoming_seen_1 (key TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO incoming_seen_1 SELECT key, time FROM incoming_seen;
DROP TABLE incoming_seen;
ALTER TABLE incoming_seen_1 RENAME TO incoming_seen;
)sql";

// The strongest answer an application (o) has had so far, ranked as
// LedgerRows::Candidate::answered says.
#define ANSWERED_RANK                                                                                                  \
    "(SELECT IFNULL(MAX(CASE a.kind WHEN 'replied' THEN 3 WHEN 'bounced' THEN 2 WHEN 'acknowledged' THEN 1 ELSE 0 "    \
    "END), 0) FROM answers a WHERE a.outgoing_id = o.id)"

// One process reads its own inbox: the claim is always granted.
struct LocalClaim final : InboxClaim {
    bool held() override { return true; }
};

class SqliteLedgerRows final : public LedgerRows {
public:
    explicit SqliteLedgerRows(const std::string& path) {
        db_ = sqlite::open(path);
        try {
            // Like history.db: a page cache and a memory map big enough that matching
            // reads no pages through system calls once warm.
            sqlite::exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; "
                              "PRAGMA mmap_size=1073741824; PRAGMA wal_autocheckpoint=10000;");
            migrate();
            sqlite::exec(db_, kSchema);
        } catch (...) {
            sqlite3_close(db_);
            throw;
        }
    }
    ~SqliteLedgerRows() override {
        prepared_.clear(); // finalised before the connection closes
        sqlite3_close(db_);
    }

    void begin() override { prepared("BEGIN IMMEDIATE").run(); }
    void commit() override { prepared("COMMIT").run(); }
    void rollback() noexcept override {
        // SQLite may have rolled back itself (it does after SQLITE_FULL).
        if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }

    void prune(std::int64_t other_before, std::int64_t seen_before) override {
        sqlite::Stmt(db_, "DELETE FROM outgoing_rcpt WHERE outgoing_id IN (SELECT id FROM outgoing WHERE application = 0 AND time < ?)")
            .bind(1, other_before)
            .run();
        sqlite::Stmt(db_, "DELETE FROM outgoing WHERE application = 0 AND time < ?").bind(1, other_before).run();
        sqlite::Stmt(db_, "DELETE FROM incoming_seen WHERE time < ?").bind(1, seen_before).run();
    }

    bool has_id(const std::string& id) override {
        return exists(prepared("SELECT 1 FROM outgoing WHERE id = ?").bind(1, id));
    }

    bool has_message(const std::string& account, const std::string& message_id, bool left_only) override {
        if (left_only)
            return exists(prepared("SELECT 1 FROM outgoing WHERE account = ? AND message_id = ? AND fate = 'left'")
                              .bind(1, account)
                              .bind(2, message_id));
        return exists(prepared("SELECT 1 FROM outgoing WHERE account = ? AND message_id = ?").bind(1, account).bind(2, message_id));
    }

    bool stopped_to(const std::string& account, const std::string& address, std::int64_t lo, std::int64_t hi) override {
        return exists(prepared("SELECT 1 FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                               "WHERE o.account = ? AND o.fate IN ('held', 'rejected') AND o.time BETWEEN ? AND ? "
                               "AND r.address = ? LIMIT 1")
                          .bind(1, account)
                          .bind(2, lo)
                          .bind(3, hi)
                          .bind(4, address));
    }

    bool insert(const OutgoingRow& m, const std::vector<RcptRow>& rcpts, const std::vector<std::string>& keys) override {
        sqlite::Stmt& ins = prepared("INSERT OR IGNORE INTO outgoing (id, account, message_id, refs, subject, fate, time, "
                                     "application, class, rules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins.bind(1, m.id)
            .bind(2, m.account)
            .bind(3, m.message_id)
            .bind(4, m.refs)
            .bind(5, m.subject)
            .bind(6, m.fate)
            .bind(7, m.time)
            .bind(8, std::int64_t{m.application ? 1 : 0})
            .bind(9, m.cls)
            .bind(10, m.rules)
            .run();
        if (sqlite3_changes(db_) == 0) return false;
        for (const auto& r : rcpts)
            prepared("INSERT OR IGNORE INTO outgoing_rcpt (outgoing_id, address, org, org_keys, name) VALUES (?, ?, ?, ?, ?)")
                .bind(1, m.id)
                .bind(2, r.address)
                .bind(3, r.org)
                .bind(4, r.org_keys)
                .bind(5, r.name)
                .run();
        for (const auto& k : keys)
            prepared("INSERT OR IGNORE INTO org_keys (key, outgoing_id) VALUES (?, ?)").bind(1, k).bind(2, m.id).run();
        return true;
    }

    bool release(const std::string& id, std::int64_t now) override {
        prepared("UPDATE outgoing SET fate = 'left', time = ?, "
                 "class = CASE WHEN application = 1 THEN 'despite-findings' ELSE '' END WHERE id = ? AND fate = 'held'")
            .bind(1, now)
            .bind(2, id)
            .run();
        return sqlite3_changes(db_) > 0;
    }

    void add_own_address(const std::string& address) override {
        prepared("INSERT OR IGNORE INTO own_addresses (address) VALUES (?)").bind(1, address).run();
    }

    bool is_own(const std::string& address) override {
        return exists(prepared("SELECT 1 FROM own_addresses WHERE address = ?").bind(1, address));
    }

    std::optional<std::string> account_of(const std::string& id, bool left_only) override {
        sqlite::Stmt& q = left_only ? prepared("SELECT account FROM outgoing WHERE id = ? AND fate = 'left'")
                                    : prepared("SELECT account FROM outgoing WHERE id = ?");
        sqlite::Reset reset{q};
        if (!q.bind(1, id).step()) return std::nullopt;
        return q.text(0);
    }

    std::vector<std::string> unanswered_since(std::int64_t since) override {
        std::vector<std::string> out;
        sqlite::Stmt s(db_, "SELECT id FROM outgoing o WHERE application = 1 AND fate = 'left' AND time >= ? "
                            "AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.outgoing_id = o.id) ORDER BY time");
        s.bind(1, since);
        while (s.step()) out.push_back(s.text(0));
        return out;
    }

    void org_keys(std::set<std::string, std::less<>>& keys) override {
        // Only this process writes to the file: after the first read, the
        // ledger adds the keys it writes itself.
        if (keys_read_) return;
        for (sqlite::Stmt k(db_, "SELECT DISTINCT key FROM org_keys"); k.step();) keys.insert(k.text(0));
        keys_read_ = true;
    }

    bool mark_seen(const std::string& key, std::int64_t now) override {
        prepared("INSERT OR IGNORE INTO incoming_seen (key, time) VALUES (?, ?)").bind(1, key).bind(2, now).run();
        return sqlite3_changes(db_) > 0;
    }

    std::vector<ByMessageId> left_by_message_id(const std::string& message_id) override {
        sqlite::Stmt& s = prepared("SELECT id, application, refs, account FROM outgoing WHERE message_id = ? AND fate = 'left' "
                                   "ORDER BY time");
        sqlite::Reset reset{s};
        s.bind(1, message_id);
        std::vector<ByMessageId> out;
        while (s.step()) out.push_back({s.text(0), s.text(3), s.text(2), s.i64(1) != 0});
        return out;
    }

    std::optional<std::pair<std::string, std::string>> application_by_message_id(const std::string& message_id) override {
        sqlite::Stmt& a = prepared("SELECT id, account FROM outgoing WHERE message_id = ? AND fate = 'left' AND application = 1");
        sqlite::Reset reset{a};
        if (!a.bind(1, message_id).step()) return std::nullopt;
        return std::make_pair(a.text(0), a.text(1));
    }

    void candidates(By by, const std::string& value, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& out) override {
        sqlite::Stmt& s =
            by == By::address ? prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM outgoing_rcpt r "
                                         "JOIN outgoing o ON o.id = r.outgoing_id "
                                         "WHERE r.address = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?")
            : by == By::org ? prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM outgoing_rcpt r "
                                       "JOIN outgoing o ON o.id = r.outgoing_id "
                                       "WHERE r.org = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?")
                            : prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM org_keys k "
                                       "JOIN outgoing o ON o.id = k.outgoing_id "
                                       "WHERE k.key = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?");
        sqlite::Reset reset{s};
        s.bind(1, value).bind(2, lo).bind(3, hi);
        while (s.step()) out.push_back({s.text(0), s.text(2), s.i64(1), static_cast<int>(s.i64(3))});
    }

    std::optional<std::pair<std::string, std::string>> bounce_candidate(const std::string& address, std::int64_t lo,
                                                                        std::int64_t hi) override {
        sqlite::Stmt& s = prepared("SELECT o.id, o.account FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                                   "WHERE r.address = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ? "
                                   "ORDER BY r.bounced, o.time DESC LIMIT 1");
        sqlite::Reset reset{s};
        if (!s.bind(1, address).bind(2, lo).bind(3, hi).step()) return std::nullopt;
        return std::make_pair(s.text(0), s.text(1));
    }

    int mark_bounced(const std::string&, const std::string& id, const std::string& address) override {
        if (address.empty()) prepared("UPDATE outgoing_rcpt SET bounced = 1 WHERE outgoing_id = ?").bind(1, id).run();
        else prepared("UPDATE outgoing_rcpt SET bounced = 1 WHERE outgoing_id = ? AND address = ?").bind(1, id).bind(2, address).run();
        return sqlite3_changes(db_);
    }

    bool has_answer(const std::string& id, const std::string& incoming) override {
        return exists(prepared("SELECT 1 FROM answers WHERE outgoing_id = ? AND incoming = ?").bind(1, id).bind(2, incoming));
    }

    void insert_answer(const std::string&, const std::string& id, const std::string& incoming, const std::string& kind,
                       const std::string& match, std::int64_t time) override {
        prepared("INSERT OR IGNORE INTO answers (outgoing_id, incoming, kind, match, time) VALUES (?, ?, ?, ?, ?)")
            .bind(1, id)
            .bind(2, incoming)
            .bind(3, kind)
            .bind(4, match)
            .bind(5, time)
            .run();
    }

    SummaryRows summary_rows(const std::string* account, std::int64_t now) override {
        const std::string acc = account ? *account : std::string();
        const std::int64_t only = account ? 1 : 0;
        SummaryRows out;
        {
            sqlite::Stmt s(db_, "SELECT id, account, subject, time, class FROM outgoing "
                                "WHERE application = 1 AND fate = 'left' AND (? = 0 OR account = ?) ORDER BY time, id");
            s.bind(1, only).bind(2, acc);
            while (s.step()) out.apps.push_back({s.text(0), s.text(1), s.text(2), s.text(4), s.i64(3)});
        }
        {
            sqlite::Stmt s(db_, "SELECT r.outgoing_id, r.address, r.bounced, r.name FROM outgoing_rcpt r JOIN outgoing o ON o.id = r.outgoing_id "
                                "WHERE o.application = 1 AND o.fate = 'left' AND (? = 0 OR o.account = ?) ORDER BY r.rowid");
            s.bind(1, only).bind(2, acc);
            while (s.step()) out.rcpts.push_back({s.text(0), s.text(1), s.text(3), s.i64(2) != 0});
        }
        {
            sqlite::Stmt s(db_, "SELECT a.outgoing_id, a.kind, a.match, a.time FROM answers a JOIN outgoing o ON o.id = a.outgoing_id "
                                "WHERE o.application = 1 AND o.fate = 'left' AND (? = 0 OR o.account = ?) ORDER BY a.time");
            s.bind(1, only).bind(2, acc);
            while (s.step()) out.answers.push_back({s.text(0), s.text(1), s.text(2), s.i64(3)});
        }
        {
            sqlite::Stmt s(db_, "SELECT o.account, r.address, MAX(o.time) FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                                "WHERE o.fate = 'left' AND o.time <= ? AND (? = 0 OR o.account = ?) GROUP BY o.account, r.address");
            s.bind(1, now).bind(2, only).bind(3, acc);
            while (s.step()) out.written.push_back({s.text(0), s.text(1), s.i64(2)});
        }
        return out;
    }

    std::vector<std::string> accounts() override {
        std::vector<std::string> out;
        sqlite::Stmt s(db_, "SELECT DISTINCT account FROM outgoing WHERE application = 1 AND fate = 'left' ORDER BY account");
        while (s.step()) out.push_back(s.text(0));
        return out;
    }

    Totals totals() override {
        Totals t;
        {
            sqlite::Stmt s(db_, "SELECT class, COUNT(*) FROM outgoing WHERE application = 1 AND fate = 'left' GROUP BY class");
            while (s.step()) {
                std::string c = s.text(0);
                (c == "revised" ? t.revised : c == "despite-findings" ? t.despite_findings : t.clean) += s.i64(1);
            }
        }
        {
            sqlite::Stmt s(db_, "SELECT match, COUNT(*) FROM answers WHERE kind = 'replied' GROUP BY match");
            while (s.step()) (s.text(0) == "exact" ? t.replies_exact : t.replies_probable) += s.i64(1);
        }
        return t;
    }

    std::optional<FolderState> folder(const std::string& name) override {
        sqlite::Stmt s(db_, "SELECT uidvalidity, last_uid, modseq, read FROM inbox_folders WHERE folder = ?");
        if (!s.bind(1, name).step()) return std::nullopt;
        FolderState st;
        st.uidvalidity = static_cast<std::uint32_t>(s.i64(0));
        st.last_uid = static_cast<std::uint32_t>(s.i64(1));
        st.modseq = static_cast<std::uint64_t>(s.i64(2));
        st.read = static_cast<std::uint64_t>(s.i64(3));
        return st;
    }

    void save_folder(const std::string& name, const FolderState& st) override {
        prepared("INSERT INTO inbox_folders (folder, uidvalidity, last_uid, modseq, read) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT(folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
                 "modseq = excluded.modseq, read = excluded.read")
            .bind(1, name)
            .bind(2, static_cast<std::int64_t>(st.uidvalidity))
            .bind(3, static_cast<std::int64_t>(st.last_uid))
            .bind(4, static_cast<std::int64_t>(st.modseq))
            .bind(5, static_cast<std::int64_t>(st.read))
            .run();
    }

    std::unique_ptr<InboxClaim> claim_inbox() override { return std::make_unique<LocalClaim>(); }

private:
    // Whether a kept statement finds a row; it is reset for its next use.
    static bool exists(sqlite::Stmt& s) {
        sqlite::Reset r{s};
        return s.step();
    }

    sqlite::Stmt& prepared(const char* sql) {
        auto& st = prepared_[sql];
        if (!st) st = std::make_unique<sqlite::Stmt>(db_, sql, true);
        return *st;
    }

    // A ledger of schema 0 brought to 1 (kSchema0To1), its rows kept; a new
    // one is made by kSchema alone.
    void migrate() {
        std::int64_t version = 0;
        {
            sqlite::Stmt v(db_, "PRAGMA user_version");
            if (v.step()) version = v.i64(0);
        }
        bool fresh = !sqlite::Stmt(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outgoing'").step();
        if (version >= 1 || fresh) return;
        sqlite::Transaction tx(db_);
        sqlite::exec(db_, kSchema0To1);
        {
            sqlite::Stmt s(db_, "SELECT r.outgoing_id, r.org_keys FROM outgoing_rcpt r JOIN outgoing o ON o.id = r.outgoing_id "
                                "WHERE o.application = 1 AND r.org_keys <> ''");
            while (s.step()) {
                const std::string id = s.text(0);
                for (const auto& k : split(s.text(1), ' '))
                    sqlite::Stmt(db_, "INSERT OR IGNORE INTO org_keys (key, outgoing_id) VALUES (?, ?)").bind(1, k).bind(2, id).run();
            }
        }
        sqlite::exec(db_, "PRAGMA user_version = 1");
        tx.commit();
    }

    // Keyed by the SQL text's address: each call site's literal is one statement.
    std::unordered_map<const char*, std::unique_ptr<sqlite::Stmt>> prepared_;
    sqlite3* db_ = nullptr;
    bool keys_read_ = false;
};

} // namespace

std::unique_ptr<LedgerRows> sqlite_ledger_rows(const std::string& path) { return std::make_unique<SqliteLedgerRows>(path); }

} // namespace rapport::policies::outcomes
