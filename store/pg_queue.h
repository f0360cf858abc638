// pg_queue.h - the queue's state rows in PostgreSQL ([store] url), shared
// by every rapportd of an installation: a message accepted by one node is
// listed, shown, released, dropped and relayed through any of them.
//
//   daemon::Queue queue(state_dir, std::make_unique<store::PgQueueState>(pool, "node1"));
//
// The same rows as SqliteQueueState (daemon/lib/queue_sqlite.cc), plus
// what sharing needs:
//   - the spool image (envelope and message) in the row, written in the
//     same transaction, so any node reads it (Queue::read_spool) and the
//     accepting node's local copy can go; it is cleared when the message
//     is finished (relayed, failed, dropped), as the local copy would be;
//   - a claim: begin_attempt takes the row with SELECT ... FOR UPDATE SKIP
//     LOCKED and marks it claimed by this node for kClaimLease; a second
//     node finds no row and sends nothing. record_attempt clears the claim.
//     The lease only matters when a node died (or lost the store) mid-send:
//     after it another node may take the message, which then may go twice
//     (at-least-once, as after a crash on one machine);
//   - NOTIFY rapport_queue, '<id>' when a message becomes queued (insert,
//     release), so every node's relay schedules it at once; due() is the
//     periodic poll that catches what a notification missed.
// Expiry of held mail is one UPDATE ... RETURNING: each id comes back to
// one node only, which adds the 'expired' event.
//
// Every table's key starts with the message's sender (the job club member,
// else the lower-case envelope sender), as the history's: see
// docs/multi-node.md, "Sharding". Calls that name only an id find the row
// through an index on id.
//
// A store that cannot be reached, or a server that fails, becomes
// StorageError (unavailable, or not): the queue's "writes failing" paths
// keep the work and retry. Thread-safe: each call takes a pooled connection.

#pragma once

#include "daemon/lib/queue_state.h"
#include "store/pg.h"

#include <algorithm>
#include <chrono>
#include <string>

namespace rapport::store {

// How long a claim stands without an outcome. It must outlast the
// longest attempt the relay can make, or a second node could send a
// message the first is still sending: one attempt is one curl transfer,
// bounded as a whole by CURLOPT_TIMEOUT = [relay] transfer_timeout (600 s
// by default; the connect timeout counts within it), and the outcome is
// written right after. claim_lease() gives 15 minutes, or transfer_timeout
// plus 5 minutes when that is longer. Only a node that died (or lost the
// store) mid-send makes another wait it out.
constexpr std::chrono::seconds kClaimLease{15 * 60};
inline std::chrono::seconds claim_lease(unsigned transfer_timeout) {
    return std::max(kClaimLease, std::chrono::seconds(transfer_timeout) + std::chrono::minutes(5));
}

class PgQueueState final : public daemon::QueueState {
public:
    // `node`: this rapportd's name ([store] node), written into its claims.
    PgQueueState(pg::Pool& pool, std::string node, std::chrono::seconds lease = kClaimLease);

    void insert(const std::string& id, const daemon::Envelope& env, const daemon::MessageInfo& info,
                daemon::Status status, std::int64_t next_attempt, std::string_view image) override;
    std::optional<daemon::QueueRow> row(const std::string& id) override;
    std::vector<daemon::QueueRow> rows_with_status(daemon::Status s) override;
    std::vector<daemon::RecipientState> recipients(const std::string& id) override;
    bool begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) override;
    void record_attempt(const std::string& id, const std::vector<daemon::RecipientState>& results,
                        daemon::Status status, int attempts, std::int64_t next_attempt,
                        const std::string& last_error) override;
    std::vector<std::string> interrupted() override;
    void probe_write() override;
    void set_status(const std::string& id, daemon::Status s) override;
    bool release(const std::string& id) override;
    std::vector<daemon::QueueRecord> list(std::optional<daemon::Status> status, std::string_view action,
                                          std::size_t limit, std::optional<std::string_view> account) override;
    std::optional<daemon::QueueRecord> record(const std::string& id) override;
    std::vector<daemon::QueueAttempt> attempts(const std::string& id) override;
    bool drop(const std::string& id) override;
    std::vector<std::string> expire_held(std::int64_t cutoff) override;
    void add_event(const std::string& id, std::string_view kind) override;
    std::vector<daemon::QueueStatRow> stat_rows() override;
    std::vector<std::pair<std::string, std::int64_t>> status_counts() override;
    bool use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                           std::int64_t forget_before) override;

    bool shared() const override { return true; }
    std::optional<std::string> image(const std::string& id) override;
    std::vector<std::string> due(std::int64_t now, std::size_t limit) override;

    const std::string& node() const { return node_; }

private:
    // Runs f on a pooled connection; pg::Error becomes StorageError.
    template <class F> auto with(F&& f);
    pg::Pool& pool_;
    std::string node_;
    std::chrono::seconds lease_;
};

} // namespace rapport::store
