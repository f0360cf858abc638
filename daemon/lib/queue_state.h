// queue_state.h - where the queue's state rows live: what happens to each
// spooled message (queued, held, relayed, ...), its recipients, the relay's
// attempts, people's decisions. Queue (queue.h) owns the spool and one of
// these:
//   SqliteQueueState  <state>/queue.db, one machine (queue.cc, queue_report.cc)
//   store::PgQueueState  PostgreSQL with [store] url (store/pg_queue.h),
//                        shared by every rapportd of an installation
// Each write is one transaction; a failed one is rolled back whole and
// throws StorageError. A shared store's reads throw StorageError too (the
// store may be gone). Thread-safe.

#pragma once

#include "daemon/lib/queue_types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::daemon {

class QueueState {
public:
    virtual ~QueueState() = default;

    // Inserts (or replaces) the row for a spooled message, with one pending
    // recipient row per RCPT TO. `image` is the spool image (envelope and
    // message), kept by a shared store so that any node can show and relay
    // the message; an embedded store ignores it.
    virtual void insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                        std::int64_t next_attempt, std::string_view image) = 0;
    virtual std::optional<QueueRow> row(const std::string& id) = 0;
    virtual std::vector<QueueRow> rows_with_status(Status s) = 0;
    virtual std::vector<RecipientState> recipients(const std::string& id) = 0;
    // See Queue::begin_attempt: false when the message is not queued, or
    // (shared store) not due yet or claimed by another node that is sending it.
    virtual bool begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) = 0;
    virtual void record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                                int attempts, std::int64_t next_attempt, const std::string& last_error) = 0;
    // Queued messages this node began sending and never recorded an outcome for.
    virtual std::vector<std::string> interrupted() = 0;
    virtual void probe_write() = 0; // throws StorageError when the write fails
    virtual void set_status(const std::string& id, Status s) = 0;
    virtual bool release(const std::string& id) = 0;
    virtual std::vector<QueueRecord> list(std::optional<Status> status, std::string_view action, std::size_t limit,
                                          std::optional<std::string_view> account) = 0;
    virtual std::optional<QueueRecord> record(const std::string& id) = 0;
    virtual std::vector<QueueAttempt> attempts(const std::string& id) = 0;
    virtual bool drop(const std::string& id) = 0;
    virtual std::vector<std::string> expire_held(std::int64_t cutoff) = 0;
    virtual void add_event(const std::string& id, std::string_view kind) = 0;
    virtual std::vector<QueueStatRow> stat_rows() = 0;
    virtual std::vector<std::pair<std::string, std::int64_t>> status_counts() = 0;
    virtual bool use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                                   std::int64_t forget_before) = 0;

    // A shared store keeps each message's spool image until it is finished:
    // the local spool copy can go once the row is written, and another node
    // reads the message here.
    virtual bool shared() const { return false; }
    virtual std::optional<std::string> image(const std::string&) { return std::nullopt; }
    // Queued messages due by `now` that no node is sending, oldest first: a
    // node's relay takes them up as they come due, whoever accepted them.
    virtual std::vector<std::string> due(std::int64_t /*now*/, std::size_t /*limit*/) { return {}; }
};

} // namespace rapport::daemon
