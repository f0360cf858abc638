// ledger.cc - see ledger.h.
//
// Cost: recording and matching are a few indexed statements. summary()
// reads every application of the account(s) with their recipients and
// answers: O(applications), a few thousand rows for the busiest job club,
// computed in memory on each call.

#include "policies/outcomes/ledger.h"

#include "common/sqlite.h"
#include "common/strings.h"

#include "policies/lexicon.h"
#include "policies/people.h"
#include "policies/text_index.h"

#include <openssl/sha.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_set>

namespace rapport::policies::outcomes {
namespace {

constexpr std::int64_t kKeepOther = 180 * 86400;  // non-applications: follow-ups and revisions need weeks, not years
constexpr std::int64_t kKeepSeen = 400 * 86400;   // received-message keys: duplicates come within days
constexpr std::int64_t kSkew = 3600;              // an answer's Date may run a little ahead of our clock

using common::lower;

// Whether a kept statement finds a row; it is reset for its next use.
bool exists(sqlite::Stmt& s) {
    sqlite::Reset r{s};
    return s.step();
}

std::string join(const std::vector<std::string>& v, char sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto p = s.find(sep);
        if (p != 0) out.emplace_back(s.substr(0, p));
        if (p == std::string_view::npos) break;
        s.remove_prefix(p + 1);
    }
    return out;
}

std::string sha256_hex(std::string_view s) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
    return common::hex(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

// The organisation an address belongs to: its registrable domain, none for free mail.
std::string org_of(std::string_view address) {
    std::string d = domain_of(address);
    if (d.empty() || is_freemail(d)) return {};
    return registrable_domain(d);
}

// Applicant tracking systems answering for a firm (policies/data/ats_domains.txt).
const std::unordered_set<std::string>& ats_domains() {
    static const std::unordered_set<std::string> set = [] {
        std::unordered_set<std::string> s;
        for (auto line : split(embedded_data("ats_domains"), '\n')) {
            if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
            while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
            if (!line.empty()) s.insert(lower(line));
        }
        return s;
    }();
    return set;
}

Class parse_class(std::string_view s) {
    if (s == "revised") return Class::revised;
    if (s == "despite-findings") return Class::despite_findings;
    return Class::clean;
}

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

// The strongest answer an application (o) has had so far, as kind_rank() ranks them.
#define ANSWERED_RANK                                                                                                  \
    "(SELECT IFNULL(MAX(CASE a.kind WHEN 'replied' THEN 3 WHEN 'bounced' THEN 2 WHEN 'acknowledged' THEN 1 ELSE 0 "    \
    "END), 0) FROM answers a WHERE a.outgoing_id = o.id)"

int kind_rank(std::string_view kind) { // for "still without that kind of answer"
    if (kind == "replied") return 3;
    if (kind == "bounced") return 2;
    if (kind == "acknowledged") return 1;
    return 0;
}

} // namespace

void Ledger::consider(std::vector<Candidate>& cands, std::string id, std::string account, int tier, int answered,
                      std::int64_t time) {
    for (auto& c : cands)
        if (c.id == id) {
            c.tier = std::min(c.tier, tier);
            return;
        }
    cands.push_back({std::move(id), std::move(account), tier, answered, time});
}

std::string_view to_string(Class c) {
    switch (c) {
    case Class::clean: return "clean";
    case Class::revised: return "revised";
    case Class::despite_findings: return "despite-findings";
    }
    return "clean";
}

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::waiting: return "waiting";
    case Outcome::acknowledged: return "acknowledged";
    case Outcome::bounced: return "bounced";
    case Outcome::replied: return "replied";
    }
    return "waiting";
}

std::string_view to_string(Answer::Kind k) {
    switch (k) {
    case Answer::duplicate: return "duplicate";
    case Answer::own: return "own";
    case Answer::unrelated: return "unrelated";
    case Answer::replied: return "replied";
    case Answer::acknowledged: return "acknowledged";
    case Answer::bounced: return "bounced";
    }
    return "unrelated";
}

std::optional<double> Counts::reply_rate() const {
    int denominator = applications - bounced;
    if (denominator <= 0) return std::nullopt;
    return static_cast<double>(replied) / denominator;
}

Ledger::Ledger(const std::string& path) {
    db_ = sqlite::open(path);
    try {
        // Like history.db: a page cache and a memory map big enough that matching
        // reads no pages through system calls once warm.
        sqlite::exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA mmap_size=1073741824; "
             "PRAGMA wal_autocheckpoint=10000;");
        migrate();
        sqlite::exec(db_, kSchema);
        for (sqlite::Stmt k(db_, "SELECT DISTINCT key FROM org_keys"); k.step();) org_keys_.insert(k.text(0));
        std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
        sqlite::Transaction tx(db_);
        sqlite::Stmt(db_, "DELETE FROM outgoing_rcpt WHERE outgoing_id IN (SELECT id FROM outgoing WHERE application = 0 AND time < ?)")
            .bind(1, now - kKeepOther)
            .run();
        sqlite::Stmt(db_, "DELETE FROM outgoing WHERE application = 0 AND time < ?").bind(1, now - kKeepOther).run();
        sqlite::Stmt(db_, "DELETE FROM incoming_seen WHERE time < ?").bind(1, now - kKeepSeen).run();
        tx.commit();
    } catch (...) {
        prepared_.clear();
        sqlite3_close(db_);
        throw;
    }
}

Ledger::~Ledger() {
    prepared_.clear(); // finalised before the connection closes
    sqlite3_close(db_);
}

sqlite::Stmt& Ledger::prepared(const char* sql) {
    auto& st = prepared_[sql];
    if (!st) st = std::make_unique<sqlite::Stmt>(db_, sql, true);
    return *st;
}

// A ledger of schema 0 brought to 1 (kSchema0To1), its rows kept; a new
// one is made by kSchema alone.
void Ledger::migrate() {
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

bool Ledger::record(const Outgoing& m, Fate fate) {
    std::lock_guard lk(mu_);
    sqlite::Transaction tx(db_, prepared("BEGIN IMMEDIATE"), prepared("COMMIT"));
    bool fresh = record_locked(m, fate);
    tx.commit();
    return fresh;
}

void Ledger::apply(const std::vector<Change>& changes) {
    std::lock_guard lk(mu_);
    sqlite::Transaction tx(db_, prepared("BEGIN IMMEDIATE"), prepared("COMMIT"));
    for (const auto& c : changes) {
        if (c.kind == Change::record) record_locked(c.message, c.fate);
        else release_locked(c.id, c.when);
    }
    tx.commit();
}

bool Ledger::record_locked(const Outgoing& m, Fate fate) {
    {
        sqlite::Stmt& s = prepared("SELECT 1 FROM outgoing WHERE id = ?");
        sqlite::Reset s_reset{s};
        if (s.bind(1, m.id).step()) return false;
    }
    if (!m.message_id.empty()) {
        sqlite::Stmt& s = prepared("SELECT 1 FROM outgoing WHERE account = ? AND message_id = ? AND fate = 'left'");
        sqlite::Reset s_reset{s};
        if (fate == Fate::left && s.bind(1, m.account).bind(2, m.message_id).step()) return false;
    }
    std::vector<std::string> rcpts;
    for (const auto& r : m.recipients) {
        std::string a = lower(r);
        if (!a.empty() && std::find(rcpts.begin(), rcpts.end(), a) == rcpts.end()) rcpts.push_back(a);
    }
    std::string cls;
    if (fate == Fate::left && m.application) {
        Class c = Class::clean;
        if (!m.rules.empty()) c = Class::despite_findings;
        else if (m.revised) c = Class::revised;
        else {
            // The sender changed it after findings: a held or rejected message
            // to one of the same people shortly before.
            for (const auto& a : rcpts) {
                sqlite::Stmt& q = prepared("SELECT 1 FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                                           "WHERE o.account = ? AND o.fate IN ('held', 'rejected') AND o.time BETWEEN ? AND ? "
                                           "AND r.address = ? LIMIT 1");
                sqlite::Reset q_reset{q};
                if (q.bind(1, m.account).bind(2, m.time - kRevisedWindow).bind(3, m.time).bind(4, a).step()) {
                    c = Class::revised;
                    break;
                }
            }
        }
        cls = std::string(to_string(c));
    }
    const char* fate_name = fate == Fate::left ? "left" : fate == Fate::held ? "held" : "rejected";
    sqlite::Stmt& ins = prepared("INSERT INTO outgoing (id, account, message_id, refs, subject, fate, time, application, class, rules) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite::Reset ins_reset{ins};
    ins.bind(1, m.id)
        .bind(2, m.account)
        .bind(3, m.message_id)
        .bind(4, join(m.refs, ' '))
        .bind(5, m.application ? m.subject : std::string()) // only applications are listed by subject
        .bind(6, fate_name)
        .bind(7, m.time)
        .bind(8, std::int64_t{m.application ? 1 : 0})
        .bind(9, cls)
        .bind(10, join(m.rules, ','))
        .step();
    for (const auto& a : rcpts) {
        const std::vector<std::string> keys = domain_org_keys(domain_of(a));
        std::string name;
        if (m.application)
            if (auto it = m.names.find(a); it != m.names.end()) name = person_name(mime::Address{it->second, a});
        sqlite::Stmt& r = prepared("INSERT OR IGNORE INTO outgoing_rcpt (outgoing_id, address, org, org_keys, name) "
                                   "VALUES (?, ?, ?, ?, ?)");
        sqlite::Reset r_reset{r};
        r.bind(1, m.id).bind(2, a).bind(3, org_of(a)).bind(4, join(keys, ' ')).bind(5, name).step();
        // For an applicant tracking system's answer naming the firm (named_applications).
        if (m.application)
            for (const auto& k : keys) {
                prepared("INSERT OR IGNORE INTO org_keys (key, outgoing_id) VALUES (?, ?)").bind(1, k).bind(2, m.id).run();
                org_keys_.insert(k); // kept if the transaction fails: a key without rows finds nothing
            }
    }
    for (const auto& f : m.from) {
        if (f.empty()) continue;
        sqlite::Stmt& o = prepared("INSERT OR IGNORE INTO own_addresses (address) VALUES (?)");
        sqlite::Reset o_reset{o};
        o.bind(1, lower(f)).step();
    }
    return true;
}

bool Ledger::release(const std::string& id, std::int64_t now) {
    std::lock_guard lk(mu_);
    return release_locked(id, now);
}

bool Ledger::release_locked(const std::string& id, std::int64_t now) {
    sqlite::Stmt& s = prepared("UPDATE outgoing SET fate = 'left', time = ?, "
                               "class = CASE WHEN application = 1 THEN 'despite-findings' ELSE '' END WHERE id = ? AND fate = 'held'");
    sqlite::Reset s_reset{s};
    s.bind(1, now).bind(2, id).step();
    return sqlite3_changes(db_) > 0;
}

bool Ledger::has_message(const std::string& account, const std::string& message_id) {
    std::lock_guard lk(mu_);
    sqlite::Stmt s(db_, "SELECT 1 FROM outgoing WHERE account = ? AND message_id = ?");
    return s.bind(1, account).bind(2, message_id).step();
}

bool Ledger::add_failure(const std::string& id, const std::vector<std::string>& failed, std::int64_t when) {
    std::lock_guard lk(mu_);
    sqlite::Transaction tx(db_);
    if (!sqlite::Stmt(db_, "SELECT 1 FROM outgoing WHERE id = ? AND fate = 'left'").bind(1, id).step()) return false;
    const std::string key = "relay:" + id;
    if (sqlite::Stmt(db_, "SELECT 1 FROM answers WHERE outgoing_id = ? AND incoming = ?").bind(1, id).bind(2, key).step())
        return false;
    for (const auto& a : failed)
        sqlite::Stmt(db_, "UPDATE outgoing_rcpt SET bounced = 1 WHERE outgoing_id = ? AND address = ?").bind(1, id).bind(2, lower(a)).step();
    sqlite::Stmt(db_, "INSERT INTO answers (outgoing_id, incoming, kind, match, time) VALUES (?, ?, 'bounced', 'exact', ?)")
        .bind(1, id)
        .bind(2, key)
        .bind(3, when)
        .step();
    tx.commit();
    return true;
}

std::vector<std::string> Ledger::unanswered_since(std::int64_t since) {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    sqlite::Stmt s(db_, "SELECT id FROM outgoing o WHERE application = 1 AND fate = 'left' AND time >= ? "
                        "AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.outgoing_id = o.id) ORDER BY time");
    s.bind(1, since);
    while (s.step()) out.push_back(s.text(0));
    return out;
}

void Ledger::add_own_address(const std::string& address) {
    if (address.find('@') == std::string::npos) return;
    std::lock_guard lk(mu_);
    sqlite::Stmt(db_, "INSERT OR IGNORE INTO own_addresses (address) VALUES (?)").bind(1, lower(address)).step();
}

Answer Ledger::add_incoming(const Incoming& in, std::int64_t now) {
    std::lock_guard lk(mu_);
    sqlite::Transaction tx(db_, prepared("BEGIN IMMEDIATE"), prepared("COMMIT"));
    Answer a = add_incoming_locked(in, now);
    tx.commit();
    return a;
}

std::vector<Answer> Ledger::add_incoming_batch(const std::vector<Incoming>& batch, std::int64_t now,
                                               const std::string& folder, const FolderState* state) {
    std::lock_guard lk(mu_);
    sqlite::Transaction tx(db_, prepared("BEGIN IMMEDIATE"), prepared("COMMIT"));
    std::vector<Answer> out;
    out.reserve(batch.size());
    for (const auto& in : batch) out.push_back(add_incoming_locked(in, now));
    if (state) save_folder_locked(folder, *state);
    tx.commit();
    return out;
}

Answer Ledger::add_incoming_locked(const Incoming& in, std::int64_t now) {
    // Without a Message-ID, its sender, date and subject stand for it.
    std::string key = !in.message_id.empty()
                          ? "m:" + sha256_hex(in.message_id)
                          : "h:" + sha256_hex(in.from + "\n" + (in.date ? std::to_string(*in.date) : "") + "\n" + in.subject);
    return match_locked(in, now, key);
}

Answer Ledger::match_locked(const Incoming& in, std::int64_t now, const std::string& key) {
    Answer ans;
    // Seen before: the insert changes nothing.
    prepared("INSERT OR IGNORE INTO incoming_seen (key, time) VALUES (?, ?)").bind(1, key).bind(2, now).run();
    if (sqlite3_changes(db_) == 0) {
        ans.kind = Answer::duplicate;
        return ans;
    }
    auto finish = [&](Answer a) {
        if (!a.application.empty() && a.account.empty()) {
            sqlite::Stmt& q = prepared("SELECT account FROM outgoing WHERE id = ?");
            sqlite::Reset q_reset{q};
            if (q.bind(1, a.application).step()) a.account = q.text(0);
        }
        return a;
    };
    if (!in.from.empty() && exists(prepared("SELECT 1 FROM own_addresses WHERE address = ?").bind(1, in.from))) {
        ans.kind = Answer::own;
        ans.why = "from one of the sender's own addresses";
        return finish(ans);
    }
    // When it came: its Date, unless missing or in the future.
    const std::int64_t t = in.date && *in.date <= now + 86400 ? *in.date : now;

    // The application a message with this Message-ID belongs to: itself, or
    // for a later message of the sender's (a follow-up) the one it referred
    // to. `known` says whether the Message-ID is one of the sender's at all.
    // Sets ans.account to the application's account when it finds one.
    auto application_by_id = [&](const std::string& mid, bool* known = nullptr) -> std::string {
        sqlite::Stmt& s = prepared("SELECT id, application, refs, account FROM outgoing WHERE message_id = ? AND fate = 'left' "
                                   "ORDER BY time");
        sqlite::Reset s_reset{s};
        s.bind(1, mid);
        std::vector<std::string> via;
        while (s.step()) {
            if (known) *known = true;
            if (s.i64(1)) {
                ans.account = s.text(3);
                return s.text(0);
            }
            for (auto& r : split(s.text(2), ' ')) via.push_back(r);
        }
        for (const auto& r : via) {
            sqlite::Stmt& a = prepared("SELECT id, account FROM outgoing WHERE message_id = ? AND fate = 'left' AND application = 1");
            sqlite::Reset a_reset{a};
            if (a.bind(1, r).step()) {
                ans.account = a.text(1);
                return a.text(0);
            }
        }
        return {};
    };
    auto insert_answer = [&](const std::string& app, const char* kind, Match match) {
        prepared("INSERT OR IGNORE INTO answers (outgoing_id, incoming, kind, match, time) VALUES (?, ?, ?, ?, ?)")
            .bind(1, app)
            .bind(2, key)
            .bind(3, kind)
            .bind(4, match == Match::exact ? "exact" : "probable")
            .bind(5, t)
            .run();
    };
    auto mark_bounced = [&](const std::string& app, const std::string& address) {
        sqlite::Stmt& u = prepared("UPDATE outgoing_rcpt SET bounced = 1 WHERE outgoing_id = ? AND address = ?");
        sqlite::Reset u_reset{u};
        u.bind(1, app).bind(2, address).step();
        return sqlite3_changes(db_);
    };

    if (in.report) {
        // A delivery status notification: only failures are news.
        if (in.failed.empty()) {
            ans.why = "a delivery report without a failure";
            return finish(ans);
        }
        std::string app;
        Match match = Match::none;
        if (!in.returned_id.empty()) app = application_by_id(in.returned_id);
        for (std::size_t i = 0; app.empty() && i < in.refs.size(); ++i) app = application_by_id(in.refs[i]);
        if (!app.empty()) {
            match = Match::exact;
            int marked = 0;
            for (const auto& a : in.failed) marked += mark_bounced(app, a);
            // The report names the recipient as rewritten further on (an
            // alias): it is still this message's failure.
            if (marked == 0) prepared("UPDATE outgoing_rcpt SET bounced = 1 WHERE outgoing_id = ?").bind(1, app).run();
            insert_answer(app, "bounced", match);
        } else {
            for (const auto& a : in.failed) {
                sqlite::Stmt& s = prepared("SELECT o.id FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                                           "WHERE r.address = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ? "
                                           "ORDER BY r.bounced, o.time DESC LIMIT 1");
                sqlite::Reset s_reset{s};
                if (!s.bind(1, a).bind(2, t - kReplyWindow).bind(3, t + kSkew).step()) continue;
                std::string id = s.text(0);
                s.reset();
                mark_bounced(id, a);
                insert_answer(id, "bounced", Match::probable);
                if (app.empty()) app = id;
                match = Match::probable;
            }
        }
        if (app.empty()) {
            ans.why = "a bounce for no recorded application";
            return finish(ans);
        }
        ans.kind = Answer::bounced;
        ans.application = app;
        ans.match = match;
        ans.why = match == Match::exact ? "exact: the returned message" : "probable: the failed recipient";
        return finish(ans);
    }

    const char* kind = in.automated ? "acknowledged" : "replied";
    const Answer::Kind akind = in.automated ? Answer::acknowledged : Answer::replied;
    bool refers_to_own = false; // it answers mail of the sender's that was no application
    for (const auto& r : in.refs) {
        std::string app = application_by_id(r, &refers_to_own);
        if (app.empty()) continue;
        insert_answer(app, kind, Match::exact);
        ans.kind = akind;
        ans.application = app;
        ans.match = Match::exact;
        ans.why = "exact: it refers to the application";
        return finish(ans);
    }
    if (refers_to_own) {
        // A colleague at a firm the sender applied to, answering the
        // sender's ordinary mail to them: an answer to that mail, not to the
        // application, however close in time.
        ans.why = "an answer to mail that was no application";
        return finish(ans);
    }
    if (in.list) {
        ans.why = "list or newsletter mail that refers to no application";
        return finish(ans);
    }
    if (in.from.empty()) return finish(ans);

    // Probable: candidates in the window before it, by tier.
    std::vector<Candidate> cands;
    const std::int64_t lo = t - kReplyWindow, hi = t + kSkew;
    std::vector<std::string> addresses{in.from};
    for (const auto& a : in.also_from) addresses.push_back(a);
    for (const auto& a : addresses) {
        sqlite::Stmt& s = prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM outgoing_rcpt r "
                                   "JOIN outgoing o ON o.id = r.outgoing_id "
                                   "WHERE r.address = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?");
        sqlite::Reset s_reset{s};
        s.bind(1, a).bind(2, lo).bind(3, hi);
        consider_rows(s, 0, cands);
    }
    // A closer tier always wins (below), so a farther one is looked at only
    // when the closer ones found nothing.
    if (std::string org = cands.empty() ? org_of(in.from) : std::string(); !org.empty()) {
        sqlite::Stmt& s = prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM outgoing_rcpt r "
                                   "JOIN outgoing o ON o.id = r.outgoing_id "
                                   "WHERE r.org = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?");
        sqlite::Reset s_reset{s};
        s.bind(1, org).bind(2, lo).bind(3, hi);
        consider_rows(s, 1, cands);
        s.reset();
        // An applicant tracking system answers for the firm its mail names:
        // in the sender's name, the address before the @, or the subject.
        if (cands.empty() && ats_domains().count(org)) named_applications(in, lo, hi, cands);
    }
    if (cands.empty()) {
        ans.why = "no application to its sender or their organisation in the last 60 days";
        return finish(ans);
    }
    // The closest tie first; then one still without this kind of answer
    // (two applications to one firm, two replies: one each); then the latest.
    const int rank = kind_rank(kind);
    auto best = std::min_element(cands.begin(), cands.end(), [&](const Candidate& a, const Candidate& b) {
        if (a.tier != b.tier) return a.tier < b.tier;
        bool a_open = a.answered < rank, b_open = b.answered < rank;
        if (a_open != b_open) return a_open;
        return a.time > b.time;
    });
    insert_answer(best->id, kind, Match::probable);
    ans.kind = akind;
    ans.application = best->id;
    ans.account = best->account;
    ans.match = Match::probable;
    static const char* tiers[] = {"probable: a recipient's address", "probable: a recipient's organisation",
                                  "probable: an applicant tracking system naming the organisation"};
    ans.why = tiers[best->tier];
    return finish(ans);
}

// The applications in [lo, hi] to an organisation that the tracking
// system's mail names. A key named in the text starts at a word and either
// is that word (perhaps less a plural ending: "Tescos") or goes on into the
// next one ("Kestrel Analytics", "Brightwater Recruitment" for
// brightwaterrecruit). So each word asks the set of keys written to
// (org_keys_, in memory) for a few exact keys and for the keys that begin
// with it and the next word's first letters: a few lookups in a sorted set,
// whatever the number of applications; TextIndex::names_key confirms each
// key found, and only a named key costs a query.
void Ledger::named_applications(const Incoming& in, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& cands) {
    std::string text = in.from_name + " " + in.from.substr(0, in.from.find('@')) + " " + in.subject;
    for (auto& c : text)
        if (c == '.' || c == '_' || c == '-' || c == '+') c = ' ';
    TextIndex named(word_list(text));
    const auto& words = named.words();
    // The keys written to that the text may name (names_key() decides);
    // looked up through one buffer, without a string made per lookup.
    std::set<std::string, std::less<>> keys;
    std::string buf;
    auto exact = [&](std::string_view k) {
        if (auto it = org_keys_.find(k); it != org_keys_.end()) keys.insert(*it);
    };
    auto prefixed = [&](std::string_view p) {
        for (auto it = org_keys_.lower_bound(p); it != org_keys_.end() && std::string_view(*it).substr(0, p.size()) == p; ++it)
            keys.insert(*it);
    };
    for (std::size_t i = 0; i < words.size() && i < 64; ++i) {
        const std::string_view w = words[i];
        if (w.empty()) continue;
        exact(w);
        buf.assign(w).push_back('s'); // "McDonald's" spells mcdonalds
        exact(buf);
        if (w.size() > 2 && w.back() == 's') exact(w.substr(0, w.size() - 1));
        if (w.size() > 3 && w.substr(w.size() - 2) == "es") exact(w.substr(0, w.size() - 2));
        if (i + 1 >= words.size() || words[i + 1].empty()) continue;
        // A key that goes on into the next word: ending one or two letters
        // into it (asked for exactly), or taking at least three of them, or
        // all of a shorter one (asked for by prefix) - so "No reply" asks
        // for nor, nore and norep..., not every key from "north" on.
        const std::string_view next = words[i + 1];
        for (int possessive = 0; possessive < 2; ++possessive) { // "St Brigid's Hospice": an 's' the word list dropped
            buf.assign(w);
            if (possessive) buf.push_back('s');
            const std::size_t head = buf.size();
            for (std::size_t m = 1; m < std::min<std::size_t>(3, next.size()); ++m) {
                buf.resize(head);
                buf.append(next.substr(0, m));
                exact(buf);
            }
            buf.resize(head);
            buf.append(next.substr(0, std::min<std::size_t>(3, next.size())));
            prefixed(buf);
        }
    }
    for (const auto& k : keys) {
        if (!named.names_key(k)) continue;
        sqlite::Stmt& s = prepared("SELECT o.id, o.time, o.account, " ANSWERED_RANK " FROM org_keys k "
                                   "JOIN outgoing o ON o.id = k.outgoing_id "
                                   "WHERE k.key = ? AND o.fate = 'left' AND o.application = 1 AND o.time BETWEEN ? AND ?");
        sqlite::Reset s_reset{s};
        s.bind(1, k).bind(2, lo).bind(3, hi);
        consider_rows(s, 2, cands);
    }
}

void Ledger::consider_rows(sqlite::Stmt& s, int tier, std::vector<Candidate>& cands) {
    while (s.step()) consider(cands, s.text(0), s.text(2), tier, static_cast<int>(s.i64(3)), s.i64(1));
}

std::vector<std::string> Ledger::accounts() {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    sqlite::Stmt s(db_, "SELECT DISTINCT account FROM outgoing WHERE application = 1 AND fate = 'left' ORDER BY account");
    while (s.step()) out.push_back(s.text(0));
    return out;
}

Summary Ledger::summary(const std::string* account, std::int64_t now, const SummarySettings& settings) {
    std::lock_guard lk(mu_);
    const std::string acc = account ? *account : std::string();
    const std::int64_t only = account ? 1 : 0;
    std::vector<Application> apps;
    std::map<std::string, std::size_t> at;
    {
        sqlite::Stmt s(db_, "SELECT id, account, subject, time, class FROM outgoing "
                            "WHERE application = 1 AND fate = 'left' AND (? = 0 OR account = ?) ORDER BY time, id");
        s.bind(1, only).bind(2, acc);
        while (s.step()) {
            Application a;
            a.id = s.text(0);
            a.account = s.text(1);
            a.subject = s.text(2);
            a.sent = s.i64(3);
            a.cls = parse_class(s.text(4));
            at[a.id] = apps.size();
            apps.push_back(std::move(a));
        }
    }
    std::map<std::string, std::pair<int, int>> bounced; // id -> (recipients, bounced)
    {
        sqlite::Stmt s(db_, "SELECT r.outgoing_id, r.address, r.bounced, r.name FROM outgoing_rcpt r JOIN outgoing o ON o.id = r.outgoing_id "
                            "WHERE o.application = 1 AND o.fate = 'left' AND (? = 0 OR o.account = ?) ORDER BY r.rowid");
        s.bind(1, only).bind(2, acc);
        while (s.step()) {
            auto it = at.find(s.text(0));
            if (it == at.end()) continue;
            Application& a = apps[it->second];
            a.to.push_back(s.text(1));
            if (a.name.empty()) a.name = s.text(3);
            auto& b = bounced[s.text(0)];
            ++b.first;
            b.second += s.i64(2) ? 1 : 0;
        }
    }
    struct Seen {
        bool replied = false, acknowledged = false;
        Match replied_match = Match::none, ack_match = Match::none, bounce_match = Match::none;
        std::int64_t replied_at = 0, ack_at = 0, bounce_at = 0;
    };
    std::map<std::string, Seen> seen;
    {
        sqlite::Stmt s(db_, "SELECT a.outgoing_id, a.kind, a.match, a.time FROM answers a JOIN outgoing o ON o.id = a.outgoing_id "
                            "WHERE o.application = 1 AND o.fate = 'left' AND (? = 0 OR o.account = ?) ORDER BY a.time");
        s.bind(1, only).bind(2, acc);
        while (s.step()) {
            Seen& x = seen[s.text(0)];
            std::string kind = s.text(1);
            Match m = s.text(2) == "exact" ? Match::exact : Match::probable;
            std::int64_t when = s.i64(3);
            if (kind == "replied") {
                if (!x.replied) x.replied_at = when;
                x.replied = true;
                x.replied_match = std::max(x.replied_match, m);
            } else if (kind == "acknowledged") {
                if (!x.acknowledged) x.ack_at = when;
                x.acknowledged = true;
                x.ack_match = std::max(x.ack_match, m);
            } else if (kind == "bounced") {
                x.bounce_at = std::max(x.bounce_at, when);
                x.bounce_match = std::max(x.bounce_match, m);
            }
        }
    }
    // When each account last wrote to each address: a follow-up is done once
    // the sender wrote to that person again.
    std::map<std::pair<std::string, std::string>, std::int64_t> last_written;
    {
        sqlite::Stmt s(db_, "SELECT o.account, r.address, MAX(o.time) FROM outgoing o JOIN outgoing_rcpt r ON r.outgoing_id = o.id "
                            "WHERE o.fate = 'left' AND o.time <= ? AND (? = 0 OR o.account = ?) GROUP BY o.account, r.address");
        s.bind(1, now).bind(2, only).bind(3, acc);
        while (s.step()) last_written[{s.text(0), s.text(1)}] = s.i64(2);
    }

    Summary out;
    out.now = now;
    // The weeks of the chart: from the first with an application among the
    // last settings.weeks, up to this one.
    const std::int64_t this_week = week_start(now);
    const std::int64_t first_week = this_week - static_cast<std::int64_t>(settings.weeks > 0 ? settings.weeks - 1 : 0) * 7 * 86400;
    std::int64_t chart_from = this_week + 1;
    for (const auto& a : apps)
        if (a.sent >= first_week && a.sent < this_week + 7 * 86400) chart_from = std::min(chart_from, week_start(a.sent));
    if (settings.weeks > 0 && chart_from <= this_week)
        for (std::int64_t w = chart_from; w <= this_week; w += 7 * 86400) out.by_week.push_back(Week{w, {}, {}, {}, {}});
    const auto follow_after = static_cast<std::int64_t>(std::llround(settings.follow_up_days * 86400.0));
    for (auto& a : apps) {
        const Seen& x = seen[a.id];
        auto b = bounced[a.id];
        if (x.replied) {
            a.outcome = Outcome::replied;
            a.match = x.replied_match;
            a.answered = x.replied_at;
        } else if (b.first > 0 && b.second == b.first) {
            a.outcome = Outcome::bounced;
            a.match = x.bounce_match;
            a.answered = x.bounce_at;
        } else if (x.acknowledged) {
            a.outcome = Outcome::acknowledged;
            a.match = x.ack_match;
            a.answered = x.ack_at;
        }
        if (a.outcome == Outcome::waiting || a.outcome == Outcome::acknowledged) {
            bool wrote_again = false;
            for (const auto& r : a.to) {
                auto it = last_written.find({a.account, r});
                wrote_again |= it != last_written.end() && it->second > a.sent;
            }
            std::int64_t due = a.sent + follow_after;
            if (!wrote_again && now >= due && now < a.sent + kReplyWindow) a.follow_up = due;
        }
        Counts* by = a.cls == Class::clean ? &out.clean : a.cls == Class::revised ? &out.revised : &out.despite_findings;
        Counts* week_all = nullptr;
        Counts* week_by = nullptr;
        if (!out.by_week.empty() && a.sent >= out.by_week.front().start) {
            std::size_t i = static_cast<std::size_t>((week_start(a.sent) - out.by_week.front().start) / (7 * 86400));
            if (i < out.by_week.size()) {
                Week& w = out.by_week[i];
                week_all = &w.all;
                week_by = a.cls == Class::clean ? &w.clean : a.cls == Class::revised ? &w.revised : &w.despite_findings;
            }
        }
        for (Counts* c : {&out.all, by, week_all, week_by}) {
            if (!c) continue;
            ++c->applications;
            c->replied += a.outcome == Outcome::replied;
            c->acknowledged += a.outcome == Outcome::acknowledged;
            c->bounced += a.outcome == Outcome::bounced;
        }
        if (a.follow_up) out.follow_up_due.push_back(a);
    }
    for (auto it = apps.rbegin(); it != apps.rend() && out.recent.size() < settings.recent; ++it)
        out.recent.push_back(*it);
    return out;
}

std::optional<Ledger::FolderState> Ledger::folder(const std::string& name) {
    std::lock_guard lk(mu_);
    sqlite::Stmt s(db_, "SELECT uidvalidity, last_uid, modseq, read FROM inbox_folders WHERE folder = ?");
    if (!s.bind(1, name).step()) return std::nullopt;
    FolderState st;
    st.uidvalidity = static_cast<std::uint32_t>(s.i64(0));
    st.last_uid = static_cast<std::uint32_t>(s.i64(1));
    st.modseq = static_cast<std::uint64_t>(s.i64(2));
    st.read = static_cast<std::uint64_t>(s.i64(3));
    return st;
}

void Ledger::save_folder(const std::string& name, const FolderState& st) {
    std::lock_guard lk(mu_);
    save_folder_locked(name, st);
}

void Ledger::save_folder_locked(const std::string& name, const FolderState& st) {
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

namespace {

nlohmann::json counts_json(const Counts& c, bool with_answers) {
    nlohmann::json j = {{"applications", c.applications}, {"replied", c.replied}};
    if (with_answers) {
        j["acknowledged"] = c.acknowledged;
        j["bounced"] = c.bounced;
    }
    auto r = c.reply_rate();
    j["reply_rate"] = r ? nlohmann::json(std::round(*r * 10000.0) / 10000.0) : nlohmann::json(nullptr);
    return j;
}

// "9 days", "1 day", "5 hours", "3 minutes": how long, in the largest whole unit.
std::string how_long(std::int64_t seconds) {
    auto n = [](std::int64_t v, const char* unit) { return std::to_string(v) + " " + unit + (v == 1 ? "" : "s"); };
    if (seconds >= 86400) return n(seconds / 86400, "day");
    if (seconds >= 3600) return n(seconds / 3600, "hour");
    return n(std::max<std::int64_t>(1, seconds / 60), "minute");
}

nlohmann::json application_json(const Application& a, bool full, std::int64_t now) {
    nlohmann::json j = {{"id", a.id}, {"account", a.account}, {"to", a.to}, {"subject", a.subject}, {"sent", a.sent}};
    if (full) {
        j["class"] = std::string(to_string(a.cls));
        j["outcome"] = std::string(to_string(a.outcome));
        j["match"] = a.match == Match::none ? nlohmann::json(nullptr)
                                             : nlohmann::json(a.match == Match::exact ? "exact" : "probable");
        if (a.answered) j["answered"] = a.answered;
    } else {
        j["due"] = a.follow_up;
        j["name"] = a.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.name);
        j["waited_days"] = (now - a.sent) / 86400;
        j["waited"] = std::max<std::int64_t>(0, now - a.sent); // seconds, for a suggestion worded elsewhere
        j["acknowledged"] = a.outcome == Outcome::acknowledged;
        j["suggestion"] = follow_up_suggestion(a, now);
    }
    return j;
}

} // namespace

std::int64_t week_start(std::int64_t t) {
    // 1970-01-01 was a Thursday: Mondays are 4 days after a multiple of 7 days.
    constexpr std::int64_t kWeek = 7 * 86400, kMonday = 4 * 86400;
    std::int64_t k = t - kMonday;
    std::int64_t weeks = k >= 0 ? k / kWeek : -((-k + kWeek - 1) / kWeek);
    return weeks * kWeek + kMonday;
}

std::string follow_up_suggestion(const Application& a, std::int64_t now) {
    std::string who = !a.name.empty() ? a.name : !a.to.empty() ? a.to.front() : std::string("them");
    std::string line = "It's been " + how_long(std::max<std::int64_t>(0, now - a.sent));
    if (a.outcome == Outcome::acknowledged) line += " and only an automatic reply came back";
    return line + " - a short, polite follow-up to " + who + " asking about your application is fine.";
}

Totals Ledger::totals() {
    std::lock_guard lk(mu_);
    Totals t;
    {
        sqlite::Stmt s(db_, "SELECT class, COUNT(*) FROM outgoing WHERE application = 1 AND fate = 'left' GROUP BY class");
        while (s.step()) {
            Class c = parse_class(s.text(0));
            (c == Class::clean ? t.clean : c == Class::revised ? t.revised : t.despite_findings) += s.i64(1);
        }
    }
    {
        sqlite::Stmt s(db_, "SELECT match, COUNT(*) FROM answers WHERE kind = 'replied' GROUP BY match");
        while (s.step()) (s.text(0) == "exact" ? t.replies_exact : t.replies_probable) += s.i64(1);
    }
    return t;
}

nlohmann::json to_json(const Summary& s) {
    nlohmann::json j = counts_json(s.all, true);
    j["by_class"] = {{"clean", counts_json(s.clean, true)},
                     {"revised", counts_json(s.revised, true)},
                     {"despite-findings", counts_json(s.despite_findings, true)}};
    nlohmann::json weeks = nlohmann::json::array();
    for (const auto& w : s.by_week)
        weeks.push_back({{"week", w.start},
                         {"applications", w.all.applications},
                         {"replied", w.all.replied},
                         {"bounced", w.all.bounced},
                         {"reply_rate", counts_json(w.all, false)["reply_rate"]},
                         {"by_class",
                          {{"clean", counts_json(w.clean, true)},
                           {"revised", counts_json(w.revised, true)},
                           {"despite-findings", counts_json(w.despite_findings, true)}}}});
    j["by_week"] = std::move(weeks);
    nlohmann::json due = nlohmann::json::array();
    for (const auto& a : s.follow_up_due) due.push_back(application_json(a, false, s.now));
    j["follow_up_due"] = std::move(due);
    nlohmann::json recent = nlohmann::json::array();
    for (const auto& a : s.recent) recent.push_back(application_json(a, true, s.now));
    j["recent"] = std::move(recent);
    return j;
}

} // namespace rapport::policies::outcomes
