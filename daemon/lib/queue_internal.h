// queue_internal.h - what the queue's three files share (queue.cc: state
// rows; queue_spool.cc: spool files; queue_report.cc: listings and stats).
// Not for other callers: they use queue.h.

#pragma once

#include "daemon/lib/queue.h"

#include "common/sqlite.h"

namespace rapport::daemon {

using sqlite::Stmt;

// The columns read_row() reads, in its order.
inline constexpr const char* kRowCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from";
QueueRow read_row(Stmt& s);

// Runs `body` in one write transaction under the database lock. A failed
// write becomes StorageError (and writes_failing() true until a write
// succeeds again, when the on_writes_resumed() callbacks run).
template <class F>
void Queue::write_txn(const char* what, F&& body) {
    bool resumed = false;
    {
        std::lock_guard lk(mu_);
        try {
            sqlite::Transaction txn(db_);
            body();
            txn.commit();
        } catch (const sqlite::Error& e) {
            std::string msg = std::string(what) + ": " + e.what();
            write_error_ = msg;
            failing_ = true;
            throw StorageError(msg, e.disk_full());
        }
        resumed = failing_.exchange(false);
        if (resumed) write_error_.clear();
    }
    if (resumed) {
        std::lock_guard lk(resumed_mu_);
        for (auto& [handle, f] : resumed_) f();
    }
}

} // namespace rapport::daemon
