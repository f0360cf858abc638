// queue.h - the durable queue: one spool file per message plus its state
// rows (queue_state.h: in SQLite, or in PostgreSQL with [store] url).
//
//   Queue q(state_dir);                        // creates <state>/spool, <state>/queue.db
//   Queue q(state_dir, store.queue_state(node, lease));  // or: the rows in the shared store ([store] url)
//   std::string id = q.new_id();
//   q.write_spool(id, env, data);              // returns only once file and directory are fsync'd
//   (or: id = q.spool_new(env, data), into the spool log when enabled)
//   q.insert(id, env, info, Status::queued, ...);
//
// The spool file is the truth (Postfix's "one single queue file"): it holds
// the envelope and the exact message bytes, and it is on stable storage
// before the client hears 250. The database says what happens next (queued,
// held, relayed, ...). It runs in WAL mode with synchronous=NORMAL: a power
// cut may lose the last state changes, never a message, because recovery
// (Queue::spool_ids + a missing or stale row) re-runs the verdict for any
// spool file the database does not account for. "Better to deliver twice
// than to lose mail" (Postfix cleanup_api.c).
//
// Release of a held message is one state change: held -> queued.
// Thread-safe (each QueueState is; SQLite: one connection behind a mutex,
// statements are short).
//
// A shared store (several rapportd on one PostgreSQL): the row and the
// spool image are written there in one transaction, and then the local
// spool copy goes - the store, replicated, is the truth from then on, so
// any node can show, release and relay the message (read_spool() reads the
// store's copy when there is no local one). Before the 250 the spool stays
// local and fsync'd, as on one machine.
// Limits: one flat spool directory (fine to ~10^5 files on ext4 with dir_index).
//
// Failed writes (a full disk): every write is one transaction; when it
// fails it is rolled back whole and StorageError carries SQLite's own error
// ("database or disk is full (SQLITE_FULL)"). From then until a write
// succeeds again writes_failing() is true: intake answers 4xx instead of
// accepting mail it could not record, and the relay stops. probe_write()
// tries a tiny write; on_writes_resumed callbacks run after the first write
// that succeeds again. A shared store that cannot be reached is no full
// disk: StorageError::unavailable, and writes_failing() stays false (the
// local spool still takes mail; intake keeps it until the store is back);
// the on_writes_resumed callbacks run after the first write that succeeds
// once it is back.

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/lib/queue_state.h"
#include "daemon/lib/queue_types.h"
#include "daemon/lib/spool_log.h"

namespace rapport::daemon {

class Queue {
public:
    explicit Queue(const std::string& state_dir); // throws std::runtime_error
    // The state rows in `state` (null: <state>/queue.db, as above).
    Queue(const std::string& state_dir, std::unique_ptr<QueueState> state);
    ~Queue();
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    // Sortable, and unique among every node sharing a store: microseconds +
    // counter + 32 random bits (two nodes would need the same microsecond,
    // counter and random part to collide).
    std::string new_id();

    // Writes <spool>/<id>, fdatasyncs it, fsyncs the directory (grouped with
    // concurrent writers). Throws std::runtime_error (the caller replies 451).
    // read_spool() refuses a file cut short by a crash (its "size" line).
    void write_spool(const std::string& id, const Envelope& env, std::string_view data);

    // Spools a new message and returns its id: appended to the spool log
    // (spool_log.h) when it is enabled and has room, else like write_spool
    // with a new id. Durable when it returns; throws like write_spool.
    std::string spool_new(const Envelope& env, std::string_view data);
    // Turns the spool log on, in <state>/spool-log: scans what the last run
    // left there (call before recovery, which must see those messages) and
    // starts its background thread; `on_ready` runs on that thread once the
    // first segments are ready.
    void enable_log(const SpoolLog::Options& opt, std::function<void()> on_ready = {});
    bool wait_log_ready(std::chrono::milliseconds timeout);
    SpoolLog* spool_log() { return log_.get(); }
    // The local copy, else a shared store's (StorageError when that store
    // cannot be reached: "no copy" is an answer only it can give).
    std::optional<SpooledMessage> read_spool(const std::string& id) const;
    void remove_spool(const std::string& id);
    // Every message on disk: spool files and spool log records (temporary
    // leftovers are deleted).
    std::vector<std::string> spool_ids();
    std::string spool_path(const std::string& id) const;

    // Inserts (or replaces) the row for a spooled message, with one pending
    // recipient row per RCPT TO. Shared store: the spool image goes with the
    // row (queued, held and captured mail) and the local copy is removed
    // once both are committed.
    void insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                std::int64_t next_attempt);
    std::optional<QueueRow> row(const std::string& id);
    // Messages to relay, oldest first.
    std::vector<QueueRow> rows_with_status(Status s);
    std::vector<RecipientState> recipients(const std::string& id);

    // Relay bookkeeping, before and after each attempt. begin_attempt is the
    // intent: the attempt number and the time to try again are written
    // before anything is sent (false: the message is no longer queued or,
    // with a shared store, not due or claimed by another node: send
    // nothing; true is this node's claim). record_attempt is the outcome: per-recipient results, then
    // the message's new state (queued with next_attempt, relayed, failed),
    // and ends the claim. A row whose intent has no outcome was being sent when rapportd
    // stopped (interrupted()). Both throw StorageError when the write fails.
    bool begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt);
    void record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                        int attempts, std::int64_t next_attempt, const std::string& last_error);
    // Queued messages whose last attempt began (on this node) and never
    // recorded an outcome.
    std::vector<std::string> interrupted();
    // A shared store: queued messages due by `now` that no node is sending
    // (any node's relay may take them; begin_attempt decides who sends).
    bool shared() const { return state_->shared(); }
    std::vector<std::string> due(std::int64_t now, std::size_t limit);
    // A shared store that could not be reached on the last write (cleared
    // by the next write that succeeds); for logs.
    bool store_down() const { return down_.load(); }

    // See "Failed writes" above.
    bool writes_failing() const { return failing_.load(); }
    std::string write_error() const;
    bool probe_write();
    // `f` is called (on the writing thread) after a write succeeds while
    // writes_failing() was true, until forget_writes_resumed(handle), which
    // waits for a call in progress.
    std::size_t on_writes_resumed(std::function<void()> f);
    void forget_writes_resumed(std::size_t handle);
    void set_status(const std::string& id, Status s);

    // held -> queued; false when the message is not held (a second click
    // releases nothing: idempotent).
    bool release(const std::string& id);

    // --- For the HTTP API and `rapportctl held` ------------------------------
    using Record = QueueRecord; // everything the API shows about one message (no spool read)
    // Newest first. `status` empty: any; `action` non-empty filters on it
    // ("warn" lists warned mail whatever became of it). Notices excluded.
    // `account`: only that account's messages (a job club member's view).
    std::vector<Record> list(std::optional<Status> status, std::string_view action, std::size_t limit,
                             std::optional<std::string_view> account = std::nullopt);
    std::optional<Record> record(const std::string& id);
    using Attempt = QueueAttempt;
    std::vector<Attempt> attempts(const std::string& id);
    // held|expired -> dropped; false when it is neither (idempotent).
    bool drop(const std::string& id);
    // held and received before `cutoff` -> expired; returns those ids.
    std::vector<std::string> expire_held(std::int64_t cutoff);
    // What people decided (released, dropped, expired, confirmed), for stats.
    void add_event(const std::string& id, std::string_view kind);
    // One row per message (notices excluded) for per-sender statistics.
    // O(messages): fine for a person's or a job club's volume.
    using StatRow = QueueStatRow;
    std::vector<StatRow> stat_rows();
    // Messages per status (for /metrics).
    std::vector<std::pair<std::string, std::int64_t>> status_counts();
    // A v1 X-Rapport-Confirm nonce (hold.h) is good for one message: true when
    // `nonce` is new (then remembered with `message_id`) or was seen before
    // with the same non-empty Message-ID (a client retrying after 4xx).
    // Nonces older than `forget_before` are forgotten (they fail the age check).
    bool use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                           std::int64_t forget_before);

private:
    // Runs one write of the state; see "Failed writes".
    template <class F>
    auto write(const char* what, F&& body);
    void wrote(); // a write succeeded: see "Failed writes"
    // The spool image as it is on disk (spool log record or file), if any.
    std::optional<std::string> local_image(const std::string& id) const;
    std::string dir_, spool_;
    std::unique_ptr<QueueState> state_;
    mutable std::mutex error_mu_;
    void sync_dir(); // group commit of the spool directory, see queue.cc
    std::string spool_head(const Envelope& env, std::string_view data) const;
    void write_spool_image(const std::string& id, std::string_view head, std::string_view data);
    std::unique_ptr<SpoolLog> log_;
    int spool_fd_ = -1; // the spool directory, kept open for fsync
    std::mutex dir_mu_;
    std::condition_variable dir_cv_;
    std::uint64_t renamed_ = 0, dir_synced_ = 0;
    bool dir_syncing_ = false;
    std::atomic<std::uint64_t> counter_{0};
    std::atomic<bool> failing_{false};
    std::atomic<bool> down_{false}; // the shared store was unreachable on the last write
    std::string write_error_; // under error_mu_
    std::mutex resumed_mu_;
    std::map<std::size_t, std::function<void()>> resumed_;
    std::size_t next_resumed_ = 0;
};

} // namespace rapport::daemon
