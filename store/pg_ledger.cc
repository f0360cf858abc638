// pg_ledger.cc - see pg_ledger.h; tables in schema.cc (step 5).

#include "store/pg_ledger.h"

#include <algorithm>
#include <utility>

namespace rapport::store {
namespace {

namespace po = policies::outcomes;

// The advisory lock class of inbox claims (the second number is a hash of
// the inbox's name); any number distinct from schema.cc's and
// pg_history.cc's would do.
constexpr const char* kInboxLockClass = "748523";
// A NOTIFY payload is limited to 8000 bytes: more keys than fit are
// announced as "" (read them all afresh).
constexpr std::size_t kMaxPayload = 7000;

// The strongest answer an application (o) has had so far, ranked as
// LedgerRows::Candidate::answered says.
#define PG_ANSWERED_RANK                                                                                              \
    "coalesce((SELECT max(CASE a.kind WHEN 'replied' THEN 3 WHEN 'bounced' THEN 2 WHEN 'acknowledged' THEN 1 "      \
    "ELSE 0 END) FROM ledger_answer a WHERE a.account = o.account AND a.outgoing_id = o.id), 0)"

// The inbox's advisory lock, on a connection of its own for as long as
// the claim lives: PostgreSQL lets it go when that connection ends.
class PgInboxClaim final : public po::InboxClaim {
public:
    explicit PgInboxClaim(std::unique_ptr<pg::Conn> c) : c_(std::move(c)) {}
    bool held() override {
        try {
            c_->exec("SELECT 1");
            return true;
        } catch (const pg::Error&) {
            return false;
        }
    }

private:
    std::unique_ptr<pg::Conn> c_;
};

// The store's errors as the ledger's: unreachable means "not now"
// (LedgerUnavailable), anything else is a failure.
[[noreturn]] void fail(pg::Pool& pool, const pg::Error& e) {
    if (!e.unavailable()) throw std::runtime_error(std::string("ledger: ") + e.what());
    pool.failed(e.what());
    throw po::LedgerUnavailable(std::string("ledger: ") + e.what());
}

} // namespace

void OrgKeyFeed::notified(const std::string& payload) {
    std::lock_guard lk(mu_);
    if (payload.empty()) {
        reload_ = true;
        pending_.clear();
        return;
    }
    std::string_view s = payload;
    while (!s.empty()) {
        auto p = s.find(' ');
        if (p != 0) pending_.emplace_back(s.substr(0, p));
        if (p == std::string_view::npos) break;
        s.remove_prefix(p + 1);
    }
}

bool OrgKeyFeed::take(std::set<std::string, std::less<>>& keys) {
    std::lock_guard lk(mu_);
    for (auto& k : pending_) keys.insert(std::move(k));
    pending_.clear();
    return std::exchange(reload_, false);
}

PgLedgerRows::PgLedgerRows(pg::Pool& pool, std::string inbox, OrgKeyFeed* feed)
    : pool_(pool), inbox_(std::move(inbox)), feed_(feed) {}

PgLedgerRows::~PgLedgerRows() { rollback(); }

template <class F> auto PgLedgerRows::with(F&& f) {
    try {
        if (txn_) return f(**txn_);
        pg::Lease l = pool_.acquire();
        return f(*l);
    } catch (const pg::Error& e) {
        fail(pool_, e);
    }
}

void PgLedgerRows::begin() {
    try {
        pg::Lease l = pool_.acquire();
        l->run("BEGIN");
        txn_.emplace(std::move(l));
    } catch (const pg::Error& e) {
        fail(pool_, e);
    }
    new_keys_.clear();
}

void PgLedgerRows::commit() {
    with([&](pg::Conn& c) {
        if (!new_keys_.empty()) {
            std::string payload;
            for (const auto& k : new_keys_) payload += (payload.empty() ? "" : " ") + k;
            c.notify("rapport_ledger_keys", payload.size() > kMaxPayload ? std::string() : payload);
        }
        c.run("COMMIT");
        return 0;
    });
    txn_.reset();
    new_keys_.clear();
}

void PgLedgerRows::rollback() noexcept {
    if (!txn_) return;
    // After a failure the transaction is aborted; ROLLBACK ends it. A
    // broken connection is dropped by its lease.
    if ((**txn_).ok()) PQclear(PQexec((**txn_).raw(), "ROLLBACK"));
    txn_.reset();
    new_keys_.clear();
}

void PgLedgerRows::prune(std::int64_t other_before, std::int64_t seen_before) {
    with([&](pg::Conn& c) {
        c.exec("DELETE FROM ledger_rcpt r USING ledger_outgoing o WHERE o.account = r.account AND o.id = r.outgoing_id "
               "AND NOT o.application AND o.time < $1",
               {other_before});
        c.exec("DELETE FROM ledger_outgoing WHERE NOT application AND time < $1", {other_before});
        c.exec("DELETE FROM ledger_seen WHERE time < $1", {seen_before});
        return 0;
    });
}

bool PgLedgerRows::has_id(const std::string& id) {
    return with([&](pg::Conn& c) { return c.exec("SELECT 1 FROM ledger_outgoing WHERE id = $1", {id}).rows() > 0; });
}

bool PgLedgerRows::has_message(const std::string& account, const std::string& message_id, bool left_only) {
    return with([&](pg::Conn& c) {
        return c.exec(left_only ? "SELECT 1 FROM ledger_outgoing WHERE account = $1 AND message_id = $2 AND fate = 'left' LIMIT 1"
                                : "SELECT 1 FROM ledger_outgoing WHERE account = $1 AND message_id = $2 LIMIT 1",
                      {account, message_id})
                   .rows() > 0;
    });
}

bool PgLedgerRows::stopped_to(const std::string& account, const std::string& address, std::int64_t lo, std::int64_t hi) {
    return with([&](pg::Conn& c) {
        return c.exec("SELECT 1 FROM ledger_outgoing o JOIN ledger_rcpt r ON r.account = o.account AND r.outgoing_id = o.id "
                      "WHERE o.account = $1 AND o.fate IN ('held', 'rejected') AND o.time BETWEEN $2 AND $3 "
                      "AND r.address = $4 LIMIT 1",
                      {account, lo, hi, address})
                   .rows() > 0;
    });
}

bool PgLedgerRows::insert(const OutgoingRow& m, const std::vector<RcptRow>& rcpts, const std::vector<std::string>& keys) {
    std::vector<std::string> addr, org, okeys, name;
    for (const auto& r : rcpts) {
        addr.push_back(r.address);
        org.push_back(r.org);
        okeys.push_back(r.org_keys);
        name.push_back(r.name);
    }
    // One round trip: the message, its recipients in order, its keys.
    bool fresh = with([&](pg::Conn& c) {
        return c.exec("WITH m AS (INSERT INTO ledger_outgoing (account, id, message_id, refs, subject, fate, time, "
                      "application, class, rules) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                      "ON CONFLICT DO NOTHING RETURNING account, id), "
                      "r AS (INSERT INTO ledger_rcpt (account, outgoing_id, pos, address, org, org_keys, name) "
                      "SELECT m.account, m.id, u.p, u.a, u.o, u.k, u.n FROM m, "
                      "unnest($11::text[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY AS u(a, o, k, n, p) "
                      "ON CONFLICT DO NOTHING), "
                      "k AS (INSERT INTO ledger_org_key (account, key, outgoing_id) "
                      "SELECT m.account, x, m.id FROM m, unnest($15::text[]) AS x ON CONFLICT DO NOTHING) "
                      "SELECT count(*) FROM m",
                      {m.account, m.id, m.message_id, m.refs, m.subject, m.fate, m.time, m.application, m.cls, m.rules,
                       pg::array(addr), pg::array(org), pg::array(okeys), pg::array(name), pg::array(keys)})
                   .i64(0, 0) > 0;
    });
    if (fresh)
        for (const auto& k : keys) new_keys_.push_back(k);
    return fresh;
}

bool PgLedgerRows::release(const std::string& id, std::int64_t now) {
    return with([&](pg::Conn& c) {
        return c.exec("UPDATE ledger_outgoing SET fate = 'left', time = $1, "
                      "class = CASE WHEN application THEN 'despite-findings' ELSE '' END WHERE id = $2 AND fate = 'held'",
                      {now, id})
                   .affected() > 0;
    });
}

void PgLedgerRows::add_own_address(const std::string& address) {
    with([&](pg::Conn& c) {
        return c.exec("INSERT INTO ledger_own_address (address) VALUES ($1) ON CONFLICT DO NOTHING", {address}).rows();
    });
}

bool PgLedgerRows::is_own(const std::string& address) {
    return with([&](pg::Conn& c) {
        return c.exec("SELECT 1 FROM ledger_own_address WHERE address = $1", {address}).rows() > 0;
    });
}

std::optional<std::string> PgLedgerRows::account_of(const std::string& id, bool left_only) {
    return with([&](pg::Conn& c) -> std::optional<std::string> {
        auto r = c.exec(left_only ? "SELECT account FROM ledger_outgoing WHERE id = $1 AND fate = 'left' LIMIT 1"
                                  : "SELECT account FROM ledger_outgoing WHERE id = $1 LIMIT 1",
                        {id});
        if (r.rows() == 0) return std::nullopt;
        return r.text(0, 0);
    });
}

std::vector<std::string> PgLedgerRows::unanswered_since(std::int64_t since) {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT id FROM ledger_outgoing o WHERE application AND fate = 'left' AND time >= $1 "
                        "AND NOT EXISTS (SELECT 1 FROM ledger_answer a WHERE a.account = o.account AND a.outgoing_id = o.id) "
                        "ORDER BY time",
                        {since});
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
        return out;
    });
}

void PgLedgerRows::org_keys(std::set<std::string, std::less<>>& keys) {
    bool reload = feed_ && feed_->take(keys);
    if (keys_read_ && !reload) return;
    with([&](pg::Conn& c) {
        auto r = c.exec("SELECT DISTINCT key FROM ledger_org_key");
        for (int i = 0; i < r.rows(); ++i) keys.insert(r.text(i, 0));
        return 0;
    });
    keys_read_ = true;
}

bool PgLedgerRows::mark_seen(const std::string& key, std::int64_t now) {
    return with([&](pg::Conn& c) {
        return c.exec("INSERT INTO ledger_seen (key, time) VALUES ($1, $2) ON CONFLICT DO NOTHING", {key, now}).affected() > 0;
    });
}

std::vector<po::LedgerRows::ByMessageId> PgLedgerRows::left_by_message_id(const std::string& message_id) {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT id, account, refs, application FROM ledger_outgoing WHERE message_id = $1 AND fate = 'left' "
                        "ORDER BY time",
                        {message_id});
        std::vector<ByMessageId> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.boolean(i, 3)});
        return out;
    });
}

std::optional<std::pair<std::string, std::string>> PgLedgerRows::application_by_message_id(const std::string& message_id) {
    return with([&](pg::Conn& c) -> std::optional<std::pair<std::string, std::string>> {
        auto r = c.exec("SELECT id, account FROM ledger_outgoing WHERE message_id = $1 AND fate = 'left' AND application "
                        "ORDER BY time LIMIT 1",
                        {message_id});
        if (r.rows() == 0) return std::nullopt;
        return std::make_pair(r.text(0, 0), r.text(0, 1));
    });
}

void PgLedgerRows::candidates(By by, const std::string& value, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& out) {
    const char* sql =
        by == By::address ? "SELECT o.id, o.time, o.account, " PG_ANSWERED_RANK " FROM ledger_rcpt r "
                            "JOIN ledger_outgoing o ON o.account = r.account AND o.id = r.outgoing_id "
                            "WHERE r.address = $1 AND o.fate = 'left' AND o.application AND o.time BETWEEN $2 AND $3"
        : by == By::org ? "SELECT o.id, o.time, o.account, " PG_ANSWERED_RANK " FROM ledger_rcpt r "
                          "JOIN ledger_outgoing o ON o.account = r.account AND o.id = r.outgoing_id "
                          "WHERE r.org = $1 AND r.org <> '' AND o.fate = 'left' AND o.application AND o.time BETWEEN $2 AND $3"
                        : "SELECT o.id, o.time, o.account, " PG_ANSWERED_RANK " FROM ledger_org_key k "
                          "JOIN ledger_outgoing o ON o.account = k.account AND o.id = k.outgoing_id "
                          "WHERE k.key = $1 AND o.fate = 'left' AND o.application AND o.time BETWEEN $2 AND $3";
    with([&](pg::Conn& c) {
        auto r = c.exec(sql, {value, lo, hi});
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.text(i, 0), r.text(i, 2), r.i64(i, 1), static_cast<int>(r.i64(i, 3))});
        return 0;
    });
}

std::optional<std::pair<std::string, std::string>> PgLedgerRows::bounce_candidate(const std::string& address,
                                                                                  std::int64_t lo, std::int64_t hi) {
    return with([&](pg::Conn& c) -> std::optional<std::pair<std::string, std::string>> {
        auto r = c.exec("SELECT o.id, o.account FROM ledger_outgoing o "
                        "JOIN ledger_rcpt r ON r.account = o.account AND r.outgoing_id = o.id "
                        "WHERE r.address = $1 AND o.fate = 'left' AND o.application AND o.time BETWEEN $2 AND $3 "
                        "ORDER BY r.bounced, o.time DESC LIMIT 1",
                        {address, lo, hi});
        if (r.rows() == 0) return std::nullopt;
        return std::make_pair(r.text(0, 0), r.text(0, 1));
    });
}

int PgLedgerRows::mark_bounced(const std::string& account, const std::string& id, const std::string& address) {
    return with([&](pg::Conn& c) {
        auto r = address.empty()
                     ? c.exec("UPDATE ledger_rcpt SET bounced = true WHERE account = $1 AND outgoing_id = $2", {account, id})
                     : c.exec("UPDATE ledger_rcpt SET bounced = true WHERE account = $1 AND outgoing_id = $2 AND address = $3",
                              {account, id, address});
        return static_cast<int>(r.affected());
    });
}

bool PgLedgerRows::has_answer(const std::string& id, const std::string& incoming) {
    return with([&](pg::Conn& c) {
        return c.exec("SELECT 1 FROM ledger_answer WHERE outgoing_id = $1 AND incoming = $2", {id, incoming}).rows() > 0;
    });
}

void PgLedgerRows::insert_answer(const std::string& account, const std::string& id, const std::string& incoming,
                                 const std::string& kind, const std::string& match, std::int64_t time) {
    with([&](pg::Conn& c) {
        return c.exec("INSERT INTO ledger_answer (account, outgoing_id, incoming, kind, match, time) "
                      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                      {account, id, incoming, kind, match, time})
            .rows();
    });
}

po::LedgerRows::SummaryRows PgLedgerRows::summary_rows(const std::string* account, std::int64_t now) {
    // Two texts of each query: with an account its rows are read by the
    // account's key; without, all of them.
    const bool one = account != nullptr;
    auto params = [&](std::vector<pg::Param> p) {
        if (one) p.insert(p.begin(), *account);
        return p;
    };
    return with([&](pg::Conn& c) {
        SummaryRows out;
        // One snapshot for the four reads: a record committed between them
        // must not show its recipients without its row.
        std::optional<pg::Txn> snap;
        if (!txn_) {
            snap.emplace(c);
            c.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
        }
        auto apps = c.exec(one ? "SELECT id, account, subject, time, class FROM ledger_outgoing "
                                 "WHERE account = $1 AND application AND fate = 'left' ORDER BY time, id"
                               : "SELECT id, account, subject, time, class FROM ledger_outgoing "
                                 "WHERE application AND fate = 'left' ORDER BY time, id",
                           params({}));
        for (int i = 0; i < apps.rows(); ++i)
            out.apps.push_back({apps.text(i, 0), apps.text(i, 1), apps.text(i, 2), apps.text(i, 4), apps.i64(i, 3)});
        auto rcpts = c.exec(one ? "SELECT r.outgoing_id, r.address, r.bounced, r.name FROM ledger_rcpt r "
                                  "JOIN ledger_outgoing o ON o.account = r.account AND o.id = r.outgoing_id "
                                  "WHERE o.account = $1 AND o.application AND o.fate = 'left' ORDER BY r.outgoing_id, r.pos"
                                : "SELECT r.outgoing_id, r.address, r.bounced, r.name FROM ledger_rcpt r "
                                  "JOIN ledger_outgoing o ON o.account = r.account AND o.id = r.outgoing_id "
                                  "WHERE o.application AND o.fate = 'left' ORDER BY r.outgoing_id, r.pos",
                            params({}));
        for (int i = 0; i < rcpts.rows(); ++i)
            out.rcpts.push_back({rcpts.text(i, 0), rcpts.text(i, 1), rcpts.text(i, 3), rcpts.boolean(i, 2)});
        auto answers = c.exec(one ? "SELECT a.outgoing_id, a.kind, a.match, a.time FROM ledger_answer a "
                                    "JOIN ledger_outgoing o ON o.account = a.account AND o.id = a.outgoing_id "
                                    "WHERE o.account = $1 AND o.application AND o.fate = 'left' ORDER BY a.time, a.incoming"
                                  : "SELECT a.outgoing_id, a.kind, a.match, a.time FROM ledger_answer a "
                                    "JOIN ledger_outgoing o ON o.account = a.account AND o.id = a.outgoing_id "
                                    "WHERE o.application AND o.fate = 'left' ORDER BY a.time, a.incoming",
                              params({}));
        for (int i = 0; i < answers.rows(); ++i)
            out.answers.push_back({answers.text(i, 0), answers.text(i, 1), answers.text(i, 2), answers.i64(i, 3)});
        auto written = c.exec(one ? "SELECT o.account, r.address, max(o.time) FROM ledger_outgoing o "
                                    "JOIN ledger_rcpt r ON r.account = o.account AND r.outgoing_id = o.id "
                                    "WHERE o.account = $1 AND o.fate = 'left' AND o.time <= $2 GROUP BY o.account, r.address"
                                  : "SELECT o.account, r.address, max(o.time) FROM ledger_outgoing o "
                                    "JOIN ledger_rcpt r ON r.account = o.account AND r.outgoing_id = o.id "
                                    "WHERE o.fate = 'left' AND o.time <= $1 GROUP BY o.account, r.address",
                              params({now}));
        for (int i = 0; i < written.rows(); ++i)
            out.written.push_back({written.text(i, 0), written.text(i, 1), written.i64(i, 2)});
        if (snap) snap->commit();
        return out;
    });
}

std::vector<std::string> PgLedgerRows::accounts() {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT DISTINCT account FROM ledger_outgoing WHERE application AND fate = 'left' ORDER BY account");
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
        return out;
    });
}

po::Totals PgLedgerRows::totals() {
    return with([&](pg::Conn& c) {
        po::Totals t;
        auto cls = c.exec("SELECT class, count(*) FROM ledger_outgoing WHERE application AND fate = 'left' GROUP BY class");
        for (int i = 0; i < cls.rows(); ++i) {
            std::string_view k = cls.view(i, 0);
            (k == "revised" ? t.revised : k == "despite-findings" ? t.despite_findings : t.clean) += cls.i64(i, 1);
        }
        auto rep = c.exec("SELECT match, count(*) FROM ledger_answer WHERE kind = 'replied' GROUP BY match");
        for (int i = 0; i < rep.rows(); ++i) (rep.view(i, 0) == "exact" ? t.replies_exact : t.replies_probable) += rep.i64(i, 1);
        return t;
    });
}

std::optional<po::FolderState> PgLedgerRows::folder(const std::string& name) {
    return with([&](pg::Conn& c) -> std::optional<po::FolderState> {
        auto r = c.exec("SELECT uidvalidity, last_uid, modseq, read FROM ledger_inbox_folder WHERE inbox = $1 AND folder = $2",
                        {inbox_, name});
        if (r.rows() == 0) return std::nullopt;
        po::FolderState st;
        st.uidvalidity = static_cast<std::uint32_t>(r.i64(0, 0));
        st.last_uid = static_cast<std::uint32_t>(r.i64(0, 1));
        st.modseq = static_cast<std::uint64_t>(r.i64(0, 2));
        st.read = static_cast<std::uint64_t>(r.i64(0, 3));
        return st;
    });
}

void PgLedgerRows::save_folder(const std::string& name, const po::FolderState& st) {
    with([&](pg::Conn& c) {
        return c.exec("INSERT INTO ledger_inbox_folder (inbox, folder, uidvalidity, last_uid, modseq, read) "
                      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (inbox, folder) DO UPDATE SET "
                      "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, modseq = excluded.modseq, "
                      "read = excluded.read",
                      {inbox_, name, static_cast<std::int64_t>(st.uidvalidity), static_cast<std::int64_t>(st.last_uid),
                       static_cast<std::int64_t>(st.modseq), static_cast<std::int64_t>(st.read)})
            .rows();
    });
}

std::unique_ptr<po::InboxClaim> PgLedgerRows::claim_inbox() {
    try {
        auto c = std::make_unique<pg::Conn>(pool_.url());
        bool got = c->exec(std::string("SELECT pg_try_advisory_lock(") + kInboxLockClass + ", hashtext($1))", {inbox_})
                       .boolean(0, 0);
        if (!got) return nullptr;
        return std::make_unique<PgInboxClaim>(std::move(c));
    } catch (const pg::Error& e) {
        fail(pool_, e);
    }
}

} // namespace rapport::store
