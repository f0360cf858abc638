// history.h - the sender's memory: what was sent, to whom, when.
//
// Persistent in SQLite (a file under --state, or in memory) or in
// PostgreSQL ([store] url: store/pg_history.h). It stores
// fingerprints, recipients, organisations written to and times - never
// message bodies. Used by template-reuse (near-duplicate texts and their
// distinct recipients within a window) and wrong-organisation (which
// organisations this sender wrote to before).
//
// Near-duplicates: MinHash over word shingles with LSH banding; each stored
// message belongs to a template family (the family of its most similar
// earlier message at similarity 0.65 or more, else a new one), so a lookup
// needs one verified member per family and reads a bounded number of
// candidates, the same with 10k or 1M stored messages.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rapport::policies {

// MinHash values per fingerprint (each a 16-bit b-bit MinHash value kept in
// a uint32_t; stored as 2 bytes each, so 128 bytes per message).
inline constexpr std::size_t kSignatureSize = 64;

// A compact MinHash signature of a text's word shingles.
struct Fingerprint {
    std::vector<std::uint32_t> minhash; // kSignatureSize values
    bool empty() const { return minhash.empty(); }
};

// Fingerprints a text already reduced to the words that matter (the caller
// masks names, organisations, URLs and digits first). Texts with fewer words
// than one shingle get an empty fingerprint, which matches nothing.
Fingerprint fingerprint(const std::vector<std::string>& words);

// Estimated Jaccard similarity of the two shingle sets, 0..1.
double similarity(const Fingerprint& a, const Fingerprint& b);

// The history's store could not be reached (PostgreSQL down or failing
// over). Not a verdict: the message waits, on disk, until it can be judged.
struct HistoryUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct SentRecord {
    std::string sender;                     // account key (lower-case address or member id)
    std::int64_t time = 0;                  // seconds since the epoch
    std::vector<std::string> recipients;    // lower-case addresses, sender excluded
    std::vector<std::string> organisations; // normalised keys of the recipients' organisations
    Fingerprint print;                      // may be empty (nothing to compare)
};

// The sending history as the checker sees it. Two implementations:
// SqliteHistory below (a file under the state directory: one machine) and
// store::PgHistory (store/pg_history.h: PostgreSQL, shared by every
// rapportd of an installation). The calls are per message or per
// recipient, never per word: one virtual call each costs nothing next to
// the lookups behind them.
class History {
public:
    virtual ~History() = default;

    // Distinct recipients (lower-case) of earlier messages from `sender`
    // sent in [since, until] in the template families of the stored
    // messages at least `min_similarity` similar to `print` (a family is a
    // chain of near-copies: each member was at least 0.65 similar to an
    // earlier one when recorded). Also returns how many such messages there
    // were. Candidates are the newest few messages sharing an LSH band with
    // `print`, so a match is found with high probability, not certainty.
    struct Similar {
        std::vector<std::string> recipients;
        int messages = 0;
    };
    virtual Similar find_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
                                 std::int64_t until, double min_similarity = 0.5) const = 0;

    // What template-reuse needs, without listing the recipients: whether
    // find_similar() would find any message (`found`), and how many distinct
    // people its recipients and `also` (this message's) make, `except` (the
    // sender's own address) not counted. Same answer as find_similar(), but
    // a family's recipients are counted by the store (family_rcpt), not
    // read message by message: a template sent to thousands costs a short
    // scan, not thousands of rows and strings.
    struct SimilarCount {
        bool found = false;
        std::size_t people = 0; // meaningful when found
    };
    virtual SimilarCount count_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
                                       std::int64_t until, const std::vector<std::string>& also,
                                       const std::string& except, double min_similarity = 0.5) const = 0;

    // Organisation keys this sender wrote to at or after `since`.
    virtual std::vector<std::string> organisations(const std::string& sender, std::int64_t since) const = 0;

    virtual void record(const SentRecord& rec) = 0;

    // The allow-list kept with the history ("don't warn me for this one",
    // added from the mail client through the daemon's API): type "address"
    // (lower-case local@domain) or "domain". Shared by every connection to
    // the same store; never pruned. Messages only to allowed recipients are
    // not judged (Checker), like the policy file's [allow] lists.
    virtual void allow(const std::string& type, const std::string& value) = 0;
    virtual bool allowed(const std::string& type, const std::string& value) const = 0;
    virtual std::vector<std::pair<std::string, std::string>> allow_list() const = 0;

    // Forgets everything sent before `before`.
    virtual void prune(std::int64_t before) = 0;

    // Write-behind, off by default: record() queues up to `max_queued`
    // records in memory and writes them together when that many are
    // queued, on flush(), begin_batch() and destruction. This object's
    // lookups see queued records exactly as if written; other connections
    // only once flushed. A crash loses the queued records (at most
    // max_queued - 1): the history is a coaching memory, the mail itself is
    // spooled. Call flush() when idle so that the queue does not wait for
    // the next message. 0 turns it off (flushing what is queued). An
    // implementation may write at once instead.
    virtual void set_write_behind(std::size_t max_queued) = 0;
    virtual void flush() = 0;

    // Groups the record() calls between them into one transaction (bulk
    // import, benchmarks). Without them each record() commits on its own.
    // Not nestable; end_batch() commits.
    virtual void begin_batch() = 0;
    virtual void end_batch() = 0;

    // A check and then its record: two letters of one sender judged at
    // the same moment would not see each other (the fifth copy of a
    // template would count three before it, not four). One rapportd
    // judges a sender's mail on one lane, one letter at a time; several
    // sharing a store take turns: from take_turn() until the Turn is
    // destroyed, another connection's take_turn() for the same sender
    // waits, and this object's reads and writes share one connection (as
    // under a Snapshot). A store only one process uses returns no turn.
    class Turn {
    public:
        virtual ~Turn() = default;
    };
    virtual std::unique_ptr<Turn> take_turn(const std::string& sender) {
        (void)sender;
        return nullptr;
    }

    // Makes the reads done while it lives (allowed, organisations,
    // find_similar: a check makes 10-20 of them) share one read
    // transaction or connection: one snapshot of the store, taken and
    // released once instead of per statement. Writes (record, prune,
    // allow) end it first. Does nothing inside a batch. Not nestable.
    //   { History::Snapshot s(history); ...lookups... }  history.record(...);
    class Snapshot {
    public:
        explicit Snapshot(const History& h) : h_(const_cast<History&>(h)), active_(h_.begin_snapshot()) {}
        ~Snapshot() {
            if (active_) h_.end_snapshot();
        }
        Snapshot(const Snapshot&) = delete;
        Snapshot& operator=(const Snapshot&) = delete;

    private:
        History& h_;
        bool active_;
    };

protected:
    // Snapshot's two halves; begin returns false when it started none.
    virtual bool begin_snapshot() = 0;
    virtual void end_snapshot() noexcept = 0;
};

// The history in SQLite: a file (or ":memory:" for one process), MinHash
// LSH bands and template families as history.cc describes. Opening creates
// the file or migrates an older schema. Throws std::runtime_error on
// failure. One per thread; several processes may share the file (WAL).
class SqliteHistory final : public History {
    struct Impl;

public:
    explicit SqliteHistory(const std::string& path);
    ~SqliteHistory() override;
    SqliteHistory(const SqliteHistory&) = delete;
    SqliteHistory& operator=(const SqliteHistory&) = delete;

    Similar find_similar(const std::string& sender, const Fingerprint& print, std::int64_t since, std::int64_t until,
                         double min_similarity = 0.5) const override;
    SimilarCount count_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
                               std::int64_t until, const std::vector<std::string>& also, const std::string& except,
                               double min_similarity = 0.5) const override;
    std::vector<std::string> organisations(const std::string& sender, std::int64_t since) const override;
    void record(const SentRecord& rec) override;
    void allow(const std::string& type, const std::string& value) override;
    bool allowed(const std::string& type, const std::string& value) const override;
    std::vector<std::pair<std::string, std::string>> allow_list() const override;
    void prune(std::int64_t before) override;
    // One commit (WAL frames, locks) per `max_queued` messages instead of
    // per message.
    void set_write_behind(std::size_t max_queued) override;
    void flush() override;
    void begin_batch() override;
    void end_batch() override;

private:
    bool begin_snapshot() override;
    void end_snapshot() noexcept override;
    std::unique_ptr<Impl> impl_;
};

} // namespace rapport::policies
