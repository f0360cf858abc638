// pg_ledger.h - the reply ledger's rows in PostgreSQL ([store] url): one
// ledger for every rapportd of an installation, so an application sent
// through one node and its reply read by another match, and every node
// gives the same figures.
//
//   policies::outcomes::Ledger ledger(store.ledger_rows("amira@imap.example:993"));
//
// Only the rows (policies/outcomes/ledger_rows.h): every decision -
// classes, exact and probable matches, outcomes - is the Ledger's, the
// same on SQLite and here. Tables: schema.cc, step 5.
//
// Several nodes at once:
// - A received message counts once: its key's row in ledger_seen is
//   inserted ON CONFLICT DO NOTHING inside the transaction that records
//   its answer; a second node inserting the same key waits for the first
//   to commit and finds it there (a duplicate), whether it read the
//   message over IMAP or had it from the add-on.
// - The inbox: every node has the same [imap] account, and one reads it.
//   claim_inbox() takes a PostgreSQL advisory lock named after the inbox
//   on a connection of its own, held while the node reads; the others
//   try again every poll and take over when the reader's connection ends
//   (its process stopped, its machine died: once PostgreSQL's TCP
//   keepalive notices). Where each folder got to is stored here, by inbox
//   and folder, so the next reader goes on from there.
// - The organisation keys an applicant tracking system's mail is matched
//   by (Ledger keeps them in memory) reach the other nodes by NOTIFY
//   rapport_ledger_keys (OrgKeyFeed), and are read afresh whenever the
//   LISTEN connection was lost.
//
// When PostgreSQL cannot be reached every call throws
// policies::outcomes::LedgerUnavailable and nothing of it is kept (the
// transaction is rolled back): the daemon keeps its events until the store
// is back (daemon/lib/outcomes.h). One object per Ledger; not thread-safe
// (the Ledger serialises its calls).

#pragma once

#include "policies/outcomes/ledger_rows.h"
#include "store/pg.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rapport::store {

// Organisation keys other nodes wrote, as NOTIFY brings them; shared by
// the node's PgLedgerRows.
class OrgKeyFeed {
public:
    // A NOTIFY rapport_ledger_keys payload (space-separated keys), or ""
    // (the LISTEN was lost and made again: read every key afresh).
    void notified(const std::string& payload);
    // Moves the keys heard of into `keys`; true when they must all be read afresh.
    bool take(std::set<std::string, std::less<>>& keys);

private:
    std::mutex mu_;
    bool reload_ = false;
    std::vector<std::string> pending_;
};

class PgLedgerRows final : public policies::outcomes::LedgerRows {
public:
    // `inbox` names the IMAP account this node reads ("" when none): its
    // folder places and its claim are kept under that name. `feed` may be
    // null (nothing hears of other nodes' keys: tests of one node).
    PgLedgerRows(pg::Pool& pool, std::string inbox, OrgKeyFeed* feed);
    ~PgLedgerRows() override;

    void begin() override;
    void commit() override;
    void rollback() noexcept override;
    void prune(std::int64_t other_before, std::int64_t seen_before) override;

    bool has_id(const std::string& id) override;
    bool has_message(const std::string& account, const std::string& message_id, bool left_only) override;
    bool stopped_to(const std::string& account, const std::string& address, std::int64_t lo, std::int64_t hi) override;
    bool insert(const OutgoingRow& m, const std::vector<RcptRow>& rcpts, const std::vector<std::string>& keys) override;
    bool release(const std::string& id, std::int64_t now) override;
    void add_own_address(const std::string& address) override;
    bool is_own(const std::string& address) override;
    std::optional<std::string> account_of(const std::string& id, bool left_only) override;
    std::vector<std::string> unanswered_since(std::int64_t since) override;
    void org_keys(std::set<std::string, std::less<>>& keys) override;

    bool mark_seen(const std::string& key, std::int64_t now) override;
    std::vector<ByMessageId> left_by_message_id(const std::string& message_id) override;
    std::optional<std::pair<std::string, std::string>> application_by_message_id(const std::string& message_id) override;
    void candidates(By by, const std::string& value, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& out) override;
    std::optional<std::pair<std::string, std::string>> bounce_candidate(const std::string& address, std::int64_t lo,
                                                                        std::int64_t hi) override;
    int mark_bounced(const std::string& account, const std::string& id, const std::string& address) override;
    bool has_answer(const std::string& id, const std::string& incoming) override;
    void insert_answer(const std::string& account, const std::string& id, const std::string& incoming,
                       const std::string& kind, const std::string& match, std::int64_t time) override;

    SummaryRows summary_rows(const std::string* account, std::int64_t now) override;
    std::vector<std::string> accounts() override;
    policies::outcomes::Totals totals() override;

    std::optional<policies::outcomes::FolderState> folder(const std::string& name) override;
    void save_folder(const std::string& name, const policies::outcomes::FolderState& st) override;
    std::unique_ptr<policies::outcomes::InboxClaim> claim_inbox() override;

private:
    // Runs f(conn) on the transaction's connection, else a pooled one; the
    // store's errors become the ledger's (unreachable: LedgerUnavailable).
    template <class F> auto with(F&& f);
    pg::Pool& pool_;
    std::string inbox_;
    OrgKeyFeed* feed_;
    std::optional<pg::Lease> txn_; // the open transaction's connection
    std::vector<std::string> new_keys_; // written in the open transaction: announced with it
    bool keys_read_ = false;
};

} // namespace rapport::store
