// history.h - the sender's memory: what was sent, to whom, when.
//
// Persistent in SQLite (a file under --state, or in memory). It stores
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

struct SentRecord {
    std::string sender;                     // account key (lower-case address or member id)
    std::int64_t time = 0;                  // seconds since the epoch
    std::vector<std::string> recipients;    // lower-case addresses, sender excluded
    std::vector<std::string> organisations; // normalised keys of the recipients' organisations
    Fingerprint print;                      // may be empty (nothing to compare)
};

class History {
    struct Impl;

public:
    // Opens (creating if needed) the database at `path`; ":memory:" keeps it
    // in memory for one process. Throws std::runtime_error on failure.
    explicit History(const std::string& path);
    ~History();
    History(const History&) = delete;
    History& operator=(const History&) = delete;

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
    Similar find_similar(const std::string& sender, const Fingerprint& print,
                         std::int64_t since, std::int64_t until,
                         double min_similarity = 0.5) const;

    // What template-reuse needs, without listing the recipients: whether
    // find_similar() would find any message (`found`), and how many distinct
    // people its recipients and `also` (this message's) make, `except` (the
    // sender's own address) not counted. Same answer as find_similar(), but
    // a family's recipients are counted in SQL (family_rcpt in history.cc),
    // not read message by message: a template sent to thousands costs a
    // short scan, not thousands of rows and strings.
    struct SimilarCount {
        bool found = false;
        std::size_t people = 0; // meaningful when found
    };
    SimilarCount count_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
                               std::int64_t until, const std::vector<std::string>& also, const std::string& except,
                               double min_similarity = 0.5) const;

    // Organisation keys this sender wrote to at or after `since`.
    std::vector<std::string> organisations(const std::string& sender, std::int64_t since) const;

    void record(const SentRecord& rec);

    // The allow-list kept with the history ("don't warn me for this one",
    // added from the mail client through the daemon's API): type "address"
    // (lower-case local@domain) or "domain". Shared by every connection to
    // the same file; never pruned. Messages only to allowed recipients are
    // not judged (Checker), like the policy file's [allow] lists.
    void allow(const std::string& type, const std::string& value);
    bool allowed(const std::string& type, const std::string& value) const;
    std::vector<std::pair<std::string, std::string>> allow_list() const;

    // Forgets everything sent before `before`.
    void prune(std::int64_t before);

    // Write-behind, off by default: record() queues up to `max_queued`
    // records in memory and writes them in one transaction when that many
    // are queued, on flush(), begin_batch() and destruction - one commit
    // (WAL frames, locks) per `max_queued` messages instead of per message.
    // This connection's lookups (find_similar, organisations, prune) see
    // queued records exactly as if written; other connections only once
    // flushed. A crash loses the queued records (at most max_queued - 1):
    // the history is a coaching memory, the mail itself is spooled. Call
    // flush() when idle so that the queue does not wait for the next
    // message. 0 turns it off (flushing what is queued).
    void set_write_behind(std::size_t max_queued);
    void flush();

    // Makes the reads done while it lives (allowed, organisations,
    // find_similar: a check makes 10-20 statements) share one read
    // transaction: one snapshot of the file, and its WAL read lock taken
    // and released once instead of per statement. Writes (record, prune,
    // allow) end it first. Does nothing inside a batch. Not nestable.
    //   { History::Snapshot s(history); ...lookups... }  history.record(...);
    class Snapshot {
    public:
        explicit Snapshot(const History& h);
        ~Snapshot();
        Snapshot(const Snapshot&) = delete;
        Snapshot& operator=(const Snapshot&) = delete;

    private:
        Impl& im_;
    };

    // Groups the record() calls between them into one transaction (bulk
    // import, benchmarks). Without them each record() commits on its own.
    // Not nestable; end_batch() commits.
    void begin_batch();
    void end_batch();

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace rapport::policies
