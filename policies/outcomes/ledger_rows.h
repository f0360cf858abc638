// ledger_rows.h - where the reply ledger's rows are kept: SQLite
// (<state>/ledger.db, one machine) or PostgreSQL ([store] url:
// store/pg_ledger.h, one ledger for every rapportd of an installation).
//
//   Ledger local(sqlite_ledger_rows(state_dir + "/ledger.db"));  // what Ledger(path) does
//   Ledger shared(store.ledger_rows(inbox));                      // store/store.h
//
// The seam is here, under the matching, not above it: Ledger (ledger.h)
// decides everything - an application's class, exact and probable
// matches, tiers and ties, outcomes, rates, follow-ups - and asks this
// interface only for rows: "the applications of the last 60 days to this
// address", "insert this answer". Those decisions are most of the
// ledger's code and are interleaved with its lookups; behind an interface
// one level up (Ledger abstract, a SqliteLedger and a PgLedger) each
// store would carry its own copy of them, and the copies would drift.
// The calls are per message, per recipient or per candidate query, never
// per row read: a virtual call costs nothing next to the statement
// behind it.
//
// Strings are the stored forms: fate "left" | "held" | "rejected", class
// "clean" | "revised" | "despite-findings" ("" for non-applications),
// answer kind "replied" | "acknowledged" | "bounced", match "exact" |
// "probable".
//
// Not thread-safe: Ledger calls it under its own lock.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rapport::policies::outcomes {

// The ledger's store could not be reached (PostgreSQL down or failing
// over). Nothing of the call was written: the caller keeps its work and
// tries again later.
struct LedgerUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where an inbox reader got to in one folder (IMAP UIDVALIDITY/UID,
// CONDSTORE HIGHESTMODSEQ), so each message is read once across restarts.
struct FolderState {
    std::uint32_t uidvalidity = 0;
    std::uint32_t last_uid = 0;
    std::uint64_t modseq = 0;
    std::uint64_t read = 0; // messages read from this folder, ever
};

// What /metrics counts (ever, not by account): applications that left, by
// class, and answers that made an application replied, by how they matched.
struct Totals {
    std::int64_t clean = 0, revised = 0, despite_findings = 0;
    std::int64_t replies_exact = 0, replies_probable = 0;
};

// The right to read one inbox into the ledger. Several rapportd sharing a
// ledger share the [imap] account too; one reads it, the others wait and
// take over when it stops (store/pg_ledger.h). Given up when destroyed.
class InboxClaim {
public:
    virtual ~InboxClaim() = default;
    // Whether it is still this reader's (false: the store connection that
    // held it broke, and another reader may have it now).
    virtual bool held() = 0;
};

class LedgerRows {
public:
    virtual ~LedgerRows() = default;

    // One transaction: the calls between begin() and commit() are kept
    // together or not at all; rollback() after a failure. A call outside
    // one is a transaction of its own.
    virtual void begin() = 0;
    virtual void commit() = 0;
    virtual void rollback() noexcept = 0;

    // Forgets non-applications that left before `other_before` and
    // received-message keys older than `seen_before`.
    virtual void prune(std::int64_t other_before, std::int64_t seen_before) = 0;

    // ---- what left or was stopped
    struct OutgoingRow {
        std::string id, account, message_id, refs /* space-separated */, subject, fate, cls, rules /* comma-separated */;
        std::int64_t time = 0;
        bool application = false;
    };
    struct RcptRow {
        std::string address, org, org_keys /* space-separated */, name;
    };
    virtual bool has_id(const std::string& id) = 0;
    // Whether `account` has a message with this Message-ID (`left_only`: one that left).
    virtual bool has_message(const std::string& account, const std::string& message_id, bool left_only) = 0;
    // Whether `account` held or rejected a message to `address` in [lo, hi].
    virtual bool stopped_to(const std::string& account, const std::string& address, std::int64_t lo, std::int64_t hi) = 0;
    // The message, its recipients in order, and (applications) the
    // organisation keys that index it. False, and nothing written, when
    // its id is known already.
    virtual bool insert(const OutgoingRow& m, const std::vector<RcptRow>& rcpts, const std::vector<std::string>& keys) = 0;
    // Held to left at `now` (an application becomes despite-findings).
    // False when the id is unknown or not held.
    virtual bool release(const std::string& id, std::int64_t now) = 0;
    virtual void add_own_address(const std::string& address) = 0;
    virtual bool is_own(const std::string& address) = 0;
    // The account of a message (`left_only`: one that left), if known.
    virtual std::optional<std::string> account_of(const std::string& id, bool left_only) = 0;
    // Applications that left at or after `since` without any answer, oldest first.
    virtual std::vector<std::string> unanswered_since(std::int64_t since) = 0;
    // Adds to `keys` every organisation key of an application, the first
    // time; after that those other writers (other rapportd) added since.
    virtual void org_keys(std::set<std::string, std::less<>>& keys) = 0;

    // ---- matching a received message
    // Records a received message's key; false when it was seen before.
    virtual bool mark_seen(const std::string& key, std::int64_t now) = 0;
    struct ByMessageId {
        std::string id, account, refs;
        bool application = false;
    };
    // Messages that left with this Message-ID, oldest first.
    virtual std::vector<ByMessageId> left_by_message_id(const std::string& message_id) = 0;
    // The application that left with this Message-ID: (id, account).
    virtual std::optional<std::pair<std::string, std::string>> application_by_message_id(const std::string& message_id) = 0;
    // Applications that left in [lo, hi] to a recipient with this address,
    // this organisation, or this organisation key.
    enum class By { address, org, org_key };
    struct Candidate {
        std::string id, account;
        std::int64_t time = 0;
        int answered = 0; // the strongest answer so far: replied 3, bounced 2, acknowledged 1, none 0
    };
    virtual void candidates(By by, const std::string& value, std::int64_t lo, std::int64_t hi,
                            std::vector<Candidate>& out) = 0;
    // The application that left in [lo, hi] to `address` a bounce most
    // likely returns: not yet bounced for it first, then the newest.
    virtual std::optional<std::pair<std::string, std::string>> bounce_candidate(const std::string& address,
                                                                                std::int64_t lo, std::int64_t hi) = 0;
    // Marks a recipient of a message bounced ("" marks all of them);
    // returns how many rows changed.
    virtual int mark_bounced(const std::string& account, const std::string& id, const std::string& address) = 0;
    virtual bool has_answer(const std::string& id, const std::string& incoming) = 0;
    // Inserts an answer once (by message and received key).
    virtual void insert_answer(const std::string& account, const std::string& id, const std::string& incoming,
                               const std::string& kind, const std::string& match, std::int64_t time) = 0;

    // ---- summaries: every application of `account` (null: everyone's)
    struct AppRow {
        std::string id, account, subject, cls;
        std::int64_t time = 0;
    };
    struct RcptOf {
        std::string id, address, name;
        bool bounced = false;
    };
    struct AnswerOf {
        std::string id, kind, match;
        std::int64_t time = 0;
    };
    struct Written {
        std::string account, address;
        std::int64_t last = 0;
    };
    struct SummaryRows {
        std::vector<AppRow> apps;       // by time, then id
        std::vector<RcptOf> rcpts;      // each application's recipients in their order
        std::vector<AnswerOf> answers;  // by time
        std::vector<Written> written;   // when each account last wrote to each address (anything that left, up to now)
    };
    virtual SummaryRows summary_rows(const std::string* account, std::int64_t now) = 0;
    virtual std::vector<std::string> accounts() = 0; // with applications, sorted
    virtual Totals totals() = 0;

    // ---- the inbox reader
    virtual std::optional<FolderState> folder(const std::string& name) = 0;
    virtual void save_folder(const std::string& name, const FolderState& st) = 0;
    // The right to read this store's inbox; null when another reader has it.
    virtual std::unique_ptr<InboxClaim> claim_inbox() = 0;
};

// The ledger in SQLite: a file (or ":memory:"), created or migrated.
// Throws std::runtime_error when it cannot be opened.
std::unique_ptr<LedgerRows> sqlite_ledger_rows(const std::string& path);

} // namespace rapport::policies::outcomes
