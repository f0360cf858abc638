// queue.h - the durable queue: one spool file per message plus its state in SQLite.
//
//   Queue q(state_dir);                        // creates <state>/spool, <state>/queue.db
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
// Thread-safe: one connection behind a mutex; statements are short.
// Limits: one flat spool directory (fine to ~10^5 files on ext4 with dir_index).
//
// Failed writes (a full disk): every write is one transaction; when it
// fails it is rolled back whole and StorageError carries SQLite's own error
// ("database or disk is full (SQLITE_FULL)"). From then until a write
// succeeds again writes_failing() is true: intake answers 4xx instead of
// accepting mail it could not record, and the relay stops. probe_write()
// tries a tiny write; on_writes_resumed callbacks run after the first write
// that succeeds again.

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

#include "daemon/lib/spool_log.h"

struct sqlite3;

namespace rapport::daemon {

// A write to the queue database failed and was rolled back.
struct StorageError : std::runtime_error {
    StorageError(const std::string& what, bool full) : std::runtime_error(what), full(full) {}
    bool full; // SQLITE_FULL or ENOSPC: the disk is full
    // "disk full" or "storage error", for log lines
    const char* kind() const { return full ? "disk full" : "storage error"; }
};

struct Envelope {
    std::string mail_from;            // "" is the null sender <>
    std::vector<std::string> rcpts;   // RCPT TO, in order, duplicates removed
    std::string account;              // SMTP AUTH user, "" when none
    std::string helo;
    std::string client;               // peer address
    std::int64_t received = 0;        // seconds since the epoch
    bool notice = false;              // a notice Rapport wrote itself: no verdict, no notice about it
};

struct SpooledMessage {
    std::string id;
    Envelope env;
    std::string data; // the message as received: CRLF lines, dot-unstuffed
};

enum class Status { queued, held, relayed, failed, captured, rejected, dropped,
                    expired /* held too long, never sent, kept visible */ };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

// What the verdict stage learnt, kept for the report and the API.
struct MessageInfo {
    std::string action;        // relay|warn|hold|reject
    std::string findings_json; // [{"rule","message","action"}]
    std::string subject, header_from, header_to, message_id;
    std::size_t size = 0;
};

struct RecipientState {
    std::string rcpt;
    std::string status; // pending|sent|failed
    int code = 0;
    std::string reply;
};

struct QueueRow {
    std::string id;
    Status status = Status::queued;
    std::string action;
    int attempts = 0;
    std::int64_t received = 0, next_attempt = 0;
    std::string last_error;
    bool notice = false;
    std::string mail_from;
};

class Queue {
public:
    explicit Queue(const std::string& state_dir); // throws std::runtime_error
    ~Queue();
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    // Sortable, unique within this state dir: microseconds + counter + random.
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
    std::optional<SpooledMessage> read_spool(const std::string& id) const;
    void remove_spool(const std::string& id);
    // Every message on disk: spool files and spool log records (temporary
    // leftovers are deleted).
    std::vector<std::string> spool_ids();
    std::string spool_path(const std::string& id) const;

    // Inserts (or replaces) the row for a spooled message, with one pending
    // recipient row per RCPT TO.
    void insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                std::int64_t next_attempt);
    std::optional<QueueRow> row(const std::string& id);
    // Messages to relay, oldest first.
    std::vector<QueueRow> rows_with_status(Status s);
    std::vector<RecipientState> recipients(const std::string& id);

    // Relay bookkeeping, before and after each attempt. begin_attempt is the
    // intent: the attempt number and the time to try again are written
    // before anything is sent (false: the message is no longer queued, send
    // nothing). record_attempt is the outcome: per-recipient results, then
    // the message's new state (queued with next_attempt, relayed, failed).
    // A row whose intent has no outcome was being sent when rapportd
    // stopped (interrupted()). Both throw StorageError when the write fails.
    bool begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt);
    void record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                        int attempts, std::int64_t next_attempt, const std::string& last_error);
    // Queued messages whose last attempt began and never recorded an outcome.
    std::vector<std::string> interrupted();

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
    // Everything the API shows about one message (no spool read).
    struct Record {
        QueueRow row;
        std::string account, helo, client;
        MessageInfo info;
        std::int64_t updated = 0;
        bool released = false; // a person chose "Send anyway" (event 'released')
    };
    // Newest first. `status` empty: any; `action` non-empty filters on it
    // ("warn" lists warned mail whatever became of it). Notices excluded.
    // `account`: only that account's messages (a job club member's view).
    std::vector<Record> list(std::optional<Status> status, std::string_view action, std::size_t limit,
                             std::optional<std::string_view> account = std::nullopt);
    std::optional<Record> record(const std::string& id);
    struct Attempt {
        std::int64_t time = 0;
        std::string result;
    };
    std::vector<Attempt> attempts(const std::string& id);
    // held|expired -> dropped; false when it is neither (idempotent).
    bool drop(const std::string& id);
    // held and received before `cutoff` -> expired; returns those ids.
    std::vector<std::string> expire_held(std::int64_t cutoff);
    // What people decided (released, dropped, expired, confirmed), for stats.
    void add_event(const std::string& id, std::string_view kind);
    // One row per message (notices excluded) for per-sender statistics.
    // O(messages): fine for a person's or a job club's volume.
    struct StatRow {
        std::string sender, status, action, findings_json;
        bool released = false;
        bool confirmed = false; // sent anyway from the mail client (X-Rapport-Confirm)
    };
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
    // Runs `body` in one write transaction under mu_; see "Failed writes".
    template <class F>
    void write_txn(const char* what, F&& body);
    void wrote(bool ok, const std::string& error);
    std::string dir_, spool_;
    sqlite3* db_ = nullptr;
    mutable std::mutex mu_;
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
    std::string write_error_; // under mu_
    std::mutex resumed_mu_;
    std::map<std::size_t, std::function<void()>> resumed_;
    std::size_t next_resumed_ = 0;
};

} // namespace rapport::daemon
