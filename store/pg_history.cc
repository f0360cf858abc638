// pg_history.cc - see pg_history.h; tables and functions in schema.cc.

#include "store/pg_history.h"

#include "common/strings.h"
#include "policies/minhash.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace rapport::store {
namespace {

namespace mh = policies::minhash;

// Chosen once; any two numbers distinct from schema.cc's would do.
constexpr const char* kPruneLock = "7485233617211730";
constexpr int kPruneChunk = 10000;
constexpr int kPruneRounds = 10;

// Selected with a statement of the history's writes: that transaction
// commits without waiting for its WAL to be flushed (asynchronous commit,
// for this transaction only; record() says why).
constexpr const char* kNoFlushWait = "set_config('synchronous_commit', 'off', true)";

std::vector<std::string> lower_all(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& a : in) {
        std::string l = common::lower(a);
        if (!l.empty() && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(std::move(l));
    }
    return out;
}

} // namespace

void AllowList::load_locked() {
    auto rows = pool_.with([](pg::Conn& c) { return c.exec("SELECT type, value FROM history_allow"); });
    rows_.clear();
    for (int i = 0; i < rows.rows(); ++i) rows_.emplace(rows.text(i, 0), rows.text(i, 1));
}

bool AllowList::contains(const std::string& type, const std::string& value) {
    std::lock_guard lk(mu_);
    if (stale_.exchange(false)) {
        try {
            load_locked();
        } catch (...) {
            stale_ = true;
            throw;
        }
    }
    return rows_.count({type, value}) > 0;
}

std::vector<std::pair<std::string, std::string>> AllowList::all() {
    std::lock_guard lk(mu_);
    load_locked();
    stale_ = false;
    return {rows_.begin(), rows_.end()};
}

void AllowList::add(const std::string& type, const std::string& value) {
    pool_.with([&](pg::Conn& c) {
        pg::Txn t(c);
        c.exec("INSERT INTO history_allow (type, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", {type, value});
        c.notify("rapport_allow", "");
        t.commit();
    });
    stale_ = true;
}

// Runs f, turning the store's errors into the history's: unreachable
// means "not now" (HistoryUnavailable), anything else is a failure.
template <class F> auto guarded(pg::Pool& pool, F&& f) {
    try {
        return f();
    } catch (const pg::Error& e) {
        if (!e.unavailable()) throw std::runtime_error(std::string("history: ") + e.what());
        pool.failed(e.what());
        throw policies::HistoryUnavailable(std::string("history: ") + e.what());
    }
}

template <class F> auto PgHistory::with(F&& f) const {
    return guarded(pool_, [&] {
        if (held_) return f(**held_);
        pg::Lease l = pool_.acquire();
        return f(*l);
    });
}

void PgHistory::search(pg::Conn& c, const std::string& sender, const policies::Fingerprint& print) const {
    std::string sig = mh::encode(print);
    if (last_.valid && last_.sender == sender && last_.sig == sig) return;
    auto keys = mh::band_keys(0, print);
    // The newest kBucketLimit messages of each bucket, as SQLite's search.
    auto r = c.exec("SELECT c.id, c.tid, c.sig FROM unnest($2::bigint[]) AS k(key) CROSS JOIN LATERAL ("
                    " SELECT m.id, m.tid, m.sig FROM history_band b"
                    " JOIN history_msg m ON m.sender = b.sender AND m.id = b.msg"
                    " WHERE b.sender = $1 AND b.key = k.key AND m.tid IS NOT NULL"
                    " ORDER BY b.msg DESC LIMIT $3) c",
                    {sender, pg::array(std::vector<std::int64_t>(keys.begin(), keys.end())), mh::kBucketLimit});
    last_ = Search{true, sender, std::move(sig), {}};
    std::unordered_set<std::int64_t> seen;
    for (int i = 0; i < r.rows(); ++i) {
        std::int64_t id = r.i64(i, 0);
        if (!seen.insert(id).second) continue;
        std::string blob = r.bytes(i, 2);
        double sim = policies::similarity(mh::decode(blob.data(), blob.size()), print);
        last_.cands.push_back({id, r.i64(i, 1), sim});
    }
}

std::vector<std::int64_t> PgHistory::families(pg::Conn& c, const std::string& sender,
                                              const policies::Fingerprint& print, double min_similarity) const {
    search(c, sender, print);
    std::vector<std::int64_t> out;
    for (const auto& cand : last_.cands)
        if (cand.sim >= min_similarity && std::find(out.begin(), out.end(), cand.tid) == out.end())
            out.push_back(cand.tid);
    std::sort(out.begin(), out.end());
    return out;
}

policies::History::Similar PgHistory::find_similar(const std::string& sender, const policies::Fingerprint& print,
                                                   std::int64_t since, std::int64_t until,
                                                   double min_similarity) const {
    Similar out;
    if (print.minhash.size() != policies::kSignatureSize) return out;
    if (!held_) last_.valid = false; // a lookup on its own: what others wrote since counts
    return with([&](pg::Conn& c) {
        auto fams = families(c, sender, print, min_similarity);
        if (fams.empty()) return out;
        auto r = c.exec("SELECT rcpts FROM history_msg WHERE sender = $1 AND tid = ANY ($2::bigint[])"
                        " AND time BETWEEN $3 AND $4",
                        {sender, pg::array(fams), since, until});
        std::set<std::string> people;
        for (int i = 0; i < r.rows(); ++i)
            for (auto& a : pg::parse_array(r.view(i, 0))) people.insert(std::move(a));
        out.messages = r.rows();
        out.recipients.assign(people.begin(), people.end());
        return out;
    });
}

policies::History::SimilarCount PgHistory::count_similar(const std::string& sender,
                                                         const policies::Fingerprint& print, std::int64_t since,
                                                         std::int64_t until, const std::vector<std::string>& also,
                                                         const std::string& except, double min_similarity) const {
    SimilarCount out;
    if (print.minhash.size() != policies::kSignatureSize) return out;
    if (!held_) last_.valid = false; // a lookup on its own: what others wrote since counts
    return with([&](pg::Conn& c) {
        auto fams = families(c, sender, print, min_similarity);
        if (fams.empty()) return out;
        const std::string tids = pg::array(fams), extra = pg::array(also);
        // From history_family_rcpt: a recipient counts when its latest
        // message is in the window. When one is later than `until`
        // (messages recorded out of date order) only the messages can say
        // whether an earlier one is in the window: `late`, counted below.
        auto r = c.exec(
            "SELECT EXISTS (SELECT 1 FROM history_msg WHERE sender = $1 AND tid = ANY ($2::bigint[])"
            "               AND time BETWEEN $3 AND $4),"
            " EXISTS (SELECT 1 FROM history_family_rcpt WHERE sender = $1 AND tid = ANY ($2::bigint[]) AND last > $4),"
            " (SELECT count(*) FROM (SELECT addr FROM history_family_rcpt WHERE sender = $1"
            "                        AND tid = ANY ($2::bigint[]) AND last >= $3"
            "                        UNION SELECT unnest($5::text[])) p WHERE addr <> $6)",
            {sender, tids, since, until, extra, except});
        out.found = r.boolean(0, 0);
        if (!out.found) return out;
        if (!r.boolean(0, 1)) {
            out.people = static_cast<std::size_t>(r.i64(0, 2));
            return out;
        }
        auto m = c.exec("SELECT count(*) FROM (SELECT unnest(rcpts) AS addr FROM history_msg WHERE sender = $1"
                        " AND tid = ANY ($2::bigint[]) AND time BETWEEN $3 AND $4"
                        " UNION SELECT unnest($5::text[])) p WHERE addr <> $6",
                        {sender, tids, since, until, extra, except});
        out.people = static_cast<std::size_t>(m.i64(0, 0));
        return out;
    });
}

std::vector<std::string> PgHistory::organisations(const std::string& sender, std::int64_t since) const {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT org FROM history_org WHERE sender = $1 AND last >= $2 ORDER BY org", {sender, since});
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
        return out;
    });
}

void PgHistory::record(const policies::SentRecord& rec) {
    with([&](pg::Conn& c) {
        pg::Param sig, tid, keys;
        if (rec.print.minhash.size() == policies::kSignatureSize) {
            search(c, rec.sender, rec.print);
            // The family of its most similar candidate (the newest on a
            // tie) at kTemplateThreshold or above, else a family of its own.
            const Cand* best = nullptr;
            for (const Cand& cand : last_.cands)
                if (cand.sim >= mh::kTemplateThreshold &&
                    (!best || cand.sim > best->sim || (cand.sim == best->sim && cand.id > best->id)))
                    best = &cand;
            sig = pg::Param::bytes(last_.sig);
            if (best) tid = best->tid;
            auto k = mh::band_keys(0, rec.print);
            keys = pg::array(std::vector<std::int64_t>(k.begin(), k.end()));
        }
        std::vector<std::string> orgs;
        for (const auto& o : rec.organisations)
            if (!o.empty() && std::find(orgs.begin(), orgs.end(), o) == orgs.end()) orgs.push_back(o);
        last_.valid = false;
        // Committed without waiting for the WAL to reach the disk (or a
        // synchronous replica): other nodes see the row at once, and a
        // server crash loses at most the last fraction of a second of
        // records - as SqliteHistory's write-behind, the history is a
        // coaching memory and the mail itself is spooled. Waiting for the
        // flush cost a disk sync per message (3 ms p50, 12 ms p99 on the
        // benchmark machine: BENCHMARKS.md).
        c.exec("SELECT history_record($1, $2, $3, $4, $5, $6, $7), " + std::string(kNoFlushWait),
               {rec.sender, rec.time, sig, tid, keys, pg::array(lower_all(rec.recipients)), pg::array(orgs)});
    });
}

void PgHistory::prune(std::int64_t before) {
    last_.valid = false; // its candidates may go
    with([&](pg::Conn& c) {
        // Called after every record: nearly always there is nothing to
        // forget, and the time index says so in one short probe. Asked each
        // time, not remembered: another node may have recorded an older
        // message (send times out of order). min(time) takes no parameter,
        // so its plan is the index's first entry whatever the plan cache
        // does; "EXISTS (... WHERE time < $1)" got a generic plan after five
        // runs that scanned the table (1.6 s a call at 10M messages).
        auto oldest = c.exec("SELECT min(time) FROM history_msg");
        if (oldest.is_null(0, 0) || oldest.i64(0, 0) >= before) return;
        if (in_batch_) { // inside the batch's transaction, all at once
            c.exec("SELECT history_prune($1, $2)", {before, std::numeric_limits<int>::max()});
            return;
        }
        // In chunks, each its own transaction, so that a long-idle store
        // does not delete millions of rows in one; at most kPruneRounds
        // chunks per call, the rest at the next.
        for (int round = 0; round < kPruneRounds; ++round) {
            pg::Txn t(c);
            if (!c.exec(std::string("SELECT pg_try_advisory_xact_lock(") + kPruneLock + "), " + kNoFlushWait)
                     .boolean(0, 0))
                return; // another node is at it
            auto n = c.exec("SELECT history_prune($1, $2)", {before, kPruneChunk}).i64(0, 0);
            t.commit();
            if (n < kPruneChunk) return;
        }
    });
}

void PgHistory::allow(const std::string& type, const std::string& value) {
    if (type != "address" && type != "domain") throw std::invalid_argument("allow: type must be address or domain");
    guarded(pool_, [&] { allow_.add(type, common::lower(value)); });
}

bool PgHistory::allowed(const std::string& type, const std::string& value) const {
    return guarded(pool_, [&] { return allow_.contains(type, common::lower(value)); });
}

std::vector<std::pair<std::string, std::string>> PgHistory::allow_list() const {
    return guarded(pool_, [&] { return allow_.all(); });
}

class PgHistory::PgTurn final : public policies::History::Turn {
public:
    PgTurn(PgHistory& h, std::string key) : h_(h), key_(std::move(key)) {}
    ~PgTurn() override { h_.end_turn(key_); }

private:
    PgHistory& h_;
    std::string key_;
};

// The lock's key: the sender's name hashed into advisory lock space (a
// collision only makes two senders take turns).
constexpr const char* kTurnLock = "SELECT pg_advisory_lock(hashtextextended($1, 0))";
constexpr const char* kTurnUnlock = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

std::unique_ptr<policies::History::Turn> PgHistory::take_turn(const std::string& sender) {
    // The turn's connection is the one a Snapshot would hold.
    if (!begin_snapshot()) return nullptr; // inside a batch: one writer already
    std::string key = "rapport-turn:" + sender;
    try {
        guarded(pool_, [&] { (*held_)->exec(kTurnLock, {key}); });
    } catch (...) {
        end_snapshot();
        throw;
    }
    return std::make_unique<PgTurn>(*this, std::move(key));
}

void PgHistory::end_turn(const std::string& key) noexcept {
    try {
        (*held_)->exec(kTurnUnlock, {key});
    } catch (const std::exception&) {
        // A connection that broke took its lock with it; one that did not
        // must not go back to the pool still holding it.
        try {
            (*held_)->run("SELECT pg_advisory_unlock_all()");
        } catch (const std::exception&) {
        }
    }
    held_.reset();
}

bool PgHistory::begin_snapshot() {
    if (held_) return false;
    last_.valid = false; // a new check: what others wrote since counts
    try {
        held_.emplace(pool_.acquire());
    } catch (const pg::Error& e) {
        throw policies::HistoryUnavailable(std::string("history: ") + e.what());
    }
    return true;
}

void PgHistory::end_snapshot() noexcept { held_.reset(); }

void PgHistory::begin_batch() {
    if (in_batch_) throw std::logic_error("history: begin_batch() inside a batch");
    held_.reset();
    held_.emplace(pool_.acquire());
    (*held_)->run("BEGIN");
    in_batch_ = true;
}

void PgHistory::end_batch() {
    if (!in_batch_) throw std::logic_error("history: end_batch() without begin_batch()");
    in_batch_ = false;
    (*held_)->run("COMMIT");
    held_.reset();
}

} // namespace rapport::store
