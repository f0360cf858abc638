// queue_internal.h - what the queue's files share (queue.cc: the Queue's
// own calls; queue_spool.cc: spool files; queue_sqlite.cc: the state rows
// in SQLite; queue_report.cc: their listings and stats). Not for other
// callers: they use queue.h.

#pragma once

#include "daemon/lib/queue.h"

#include "common/sqlite.h"

#include <mutex>

namespace rapport::daemon {

using sqlite::Stmt;

// The columns read_row() reads, in its order.
inline constexpr const char* kRowCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from";
QueueRow read_row(Stmt& s);

// The state rows in <state>/queue.db (WAL, synchronous=NORMAL: the spool,
// fsync'd before the 250, is the durability point). One connection behind
// a mutex.
class SqliteQueueState final : public QueueState {
public:
    explicit SqliteQueueState(const std::string& path);
    ~SqliteQueueState() override;

    void insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                std::int64_t next_attempt, std::string_view image) override;
    std::optional<QueueRow> row(const std::string& id) override;
    std::vector<QueueRow> rows_with_status(Status s) override;
    std::vector<RecipientState> recipients(const std::string& id) override;
    bool begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) override;
    void record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                        int attempts, std::int64_t next_attempt, const std::string& last_error) override;
    std::vector<std::string> interrupted() override;
    void probe_write() override;
    void set_status(const std::string& id, Status s) override;
    bool release(const std::string& id) override;
    std::vector<QueueRecord> list(std::optional<Status> status, std::string_view action, std::size_t limit,
                                  std::optional<std::string_view> account) override;
    std::optional<QueueRecord> record(const std::string& id) override;
    std::vector<QueueAttempt> attempts(const std::string& id) override;
    bool drop(const std::string& id) override;
    std::vector<std::string> expire_held(std::int64_t cutoff) override;
    void add_event(const std::string& id, std::string_view kind) override;
    std::vector<QueueStatRow> stat_rows() override;
    std::vector<std::pair<std::string, std::int64_t>> status_counts() override;
    bool use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                           std::int64_t forget_before) override;

private:
    // Runs `body` in one write transaction under mu_; a failure is rolled
    // back and becomes StorageError with SQLite's own words.
    template <class F>
    void txn(F&& body) {
        std::lock_guard lk(mu_);
        try {
            sqlite::Transaction t(db_);
            body();
            t.commit();
        } catch (const sqlite::Error& e) {
            throw StorageError(e.what(), e.disk_full());
        }
    }
    sqlite3* db_ = nullptr;
    std::mutex mu_;
};

} // namespace rapport::daemon
