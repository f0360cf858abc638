// pg_history.h - the sending history in PostgreSQL, shared by every
// rapportd of an installation: a letter counts the same wherever it was
// sent from.
//
// The same MinHash LSH search and template families as the SQLite history
// (policies/history.cc): the newest kBucketLimit messages of each of the
// kBands buckets of `print` are read in one query (a LATERAL join per
// band), verified against their signatures here, and the matching
// families' recipients counted in a second query from history_family_rcpt.
// record() is one call of the history_record() function (schema.cc): one
// round trip, whatever the recipients and organisations. Writes go out at
// once (no write-behind): another node's next check sees them.
//
// A check's reads share one pooled connection (History::Snapshot). Prune
// first asks the time index whether anything is old enough (one short
// probe: it is called after every record), and deletes on one node at a
// time (an advisory lock): forgetting old mail is the same work wherever
// it runs.
//
// The allow-list is read by every check: each node keeps it in memory
// (AllowList) and reads it again when a node adds to it (NOTIFY
// rapport_allow).
//
// When PostgreSQL cannot be reached every call throws
// policies::HistoryUnavailable: the message is not judged until it can be.
// One object per thread, like SqliteHistory.

#pragma once

#include "policies/history.h"
#include "store/pg.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rapport::store {

// The allow-list as this node knows it; shared by its PgHistory objects.
class AllowList {
public:
    explicit AllowList(pg::Pool& pool) : pool_(pool) {}
    bool contains(const std::string& type, const std::string& value);
    std::vector<std::pair<std::string, std::string>> all();
    void add(const std::string& type, const std::string& value); // written and announced
    void changed() { stale_ = true; }                            // NOTIFY rapport_allow

private:
    void load_locked();
    pg::Pool& pool_;
    std::mutex mu_;
    std::atomic<bool> stale_{true};
    std::set<std::pair<std::string, std::string>> rows_;
};

class PgHistory final : public policies::History {
public:
    PgHistory(pg::Pool& pool, AllowList& allow) : pool_(pool), allow_(allow) {}
    ~PgHistory() override = default;

    Similar find_similar(const std::string& sender, const policies::Fingerprint& print, std::int64_t since,
                         std::int64_t until, double min_similarity = 0.5) const override;
    SimilarCount count_similar(const std::string& sender, const policies::Fingerprint& print, std::int64_t since,
                               std::int64_t until, const std::vector<std::string>& also, const std::string& except,
                               double min_similarity = 0.5) const override;
    std::vector<std::string> organisations(const std::string& sender, std::int64_t since) const override;
    void record(const policies::SentRecord& rec) override;
    void allow(const std::string& type, const std::string& value) override;
    bool allowed(const std::string& type, const std::string& value) const override;
    std::vector<std::pair<std::string, std::string>> allow_list() const override;
    void prune(std::int64_t before) override;
    // A session advisory lock named after the sender, on the connection
    // the check and its record then use (see History::take_turn).
    std::unique_ptr<Turn> take_turn(const std::string& sender) override;
    void set_write_behind(std::size_t) override {} // writes go out at once
    void flush() override {}
    void begin_batch() override;
    void end_batch() override;

private:
    bool begin_snapshot() override;
    void end_snapshot() noexcept override;

    struct Cand {
        std::int64_t id, tid;
        double sim;
    };
    // Runs f(conn) on the snapshot's or batch's connection, else a pooled
    // one; an unreachable store becomes policies::HistoryUnavailable.
    template <class F> auto with(F&& f) const;
    // The verified candidates of `print` for `sender`, into last_.
    void search(pg::Conn& c, const std::string& sender, const policies::Fingerprint& print) const;
    std::vector<std::int64_t> families(pg::Conn& c, const std::string& sender, const policies::Fingerprint& print,
                                       double min_similarity) const;

    pg::Pool& pool_;
    AllowList& allow_;
    mutable std::optional<pg::Lease> held_; // a Turn's, a Snapshot's or a batch's connection
    class PgTurn;
    void end_turn(const std::string& key) noexcept;
    bool in_batch_ = false;
    // The last search, reused by the lookups of one Snapshot and by the
    // record() that follows them for the same text (the Checker's order);
    // a new Snapshot, a lookup outside one, a record and a prune start
    // afresh, so that what other nodes wrote meanwhile counts.
    struct Search {
        bool valid = false;
        std::string sender, sig;
        std::vector<Cand> cands;
    };
    mutable Search last_;
};

} // namespace rapport::store
