// queue.cc - the Queue's own calls: ids, and every state change passed to
// its QueueState (SQLite or the shared store) with the bookkeeping of
// failed writes. Spool files: queue_spool.cc. See queue.h.

#include "daemon/lib/queue_internal.h"

#include "common/files.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <unistd.h>

namespace rapport::daemon {

std::string_view to_string(Status s) {
    switch (s) {
    case Status::queued: return "queued";
    case Status::held: return "held";
    case Status::relayed: return "relayed";
    case Status::failed: return "failed";
    case Status::captured: return "captured";
    case Status::rejected: return "rejected";
    case Status::dropped: return "dropped";
    case Status::expired: return "expired";
    }
    return "queued";
}

std::optional<Status> parse_status(std::string_view s) {
    for (Status st : {Status::queued, Status::held, Status::relayed, Status::failed, Status::captured,
                      Status::rejected, Status::dropped, Status::expired})
        if (to_string(st) == s) return st;
    return std::nullopt;
}

Queue::Queue(const std::string& state_dir) : Queue(state_dir, nullptr) {}

Queue::Queue(const std::string& state_dir, std::unique_ptr<QueueState> state)
    : dir_(state_dir), spool_(state_dir + "/spool"), state_(std::move(state)) {
    common::mkdirs(spool_);
    if (!state_) state_ = std::make_unique<SqliteQueueState>(state_dir + "/queue.db");
    spool_fd_ = ::open(spool_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (spool_fd_ < 0) throw std::runtime_error("open " + spool_ + ": " + std::strerror(errno));
}

Queue::~Queue() {
    log_.reset(); // stops its thread before the rest goes
    if (spool_fd_ >= 0) ::close(spool_fd_);
}

std::size_t Queue::on_writes_resumed(std::function<void()> f) {
    std::lock_guard lk(resumed_mu_);
    resumed_.emplace(next_resumed_, std::move(f));
    return next_resumed_++;
}

void Queue::forget_writes_resumed(std::size_t handle) {
    std::lock_guard lk(resumed_mu_);
    resumed_.erase(handle);
}

std::string Queue::write_error() const {
    std::lock_guard lk(error_mu_);
    return write_error_;
}

// Runs one write of the state. A full disk or a broken database sets
// writes_failing() (intake refuses new mail); a shared store that cannot
// be reached does not (the local spool still takes mail). The first write
// that succeeds after either runs the on_writes_resumed() callbacks.
template <class F>
auto Queue::write(const char* what, F&& body) {
    auto succeeded = [&] {
        bool resumed = failing_.exchange(false);
        resumed |= down_.exchange(false);
        if (!resumed) return;
        {
            std::lock_guard lk(error_mu_);
            write_error_.clear();
        }
        wrote();
    };
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            succeeded();
        } else {
            auto r = body();
            succeeded();
            return r;
        }
    } catch (const StorageError& e) {
        std::string msg = std::string(what) + ": " + e.what();
        {
            std::lock_guard lk(error_mu_);
            write_error_ = msg;
        }
        if (e.unavailable) down_ = true;
        else failing_ = true;
        throw StorageError(msg, e.full, e.unavailable);
    }
}

void Queue::wrote() {
    std::lock_guard lk(resumed_mu_);
    for (auto& [handle, f] : resumed_) f();
}

bool Queue::probe_write() {
    try {
        write("probe", [&] { state_->probe_write(); });
        return true;
    } catch (const StorageError&) {
        return false;
    }
}

std::string Queue::new_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    // No lock: a new id is on the path to the 250.
    std::uint64_t n = ++counter_;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%013llx%04llx%08x", static_cast<unsigned long long>(us),
                  static_cast<unsigned long long>(n & 0xffff), static_cast<unsigned>(rng() & 0xffffffffu));
    return buf;
}

void Queue::insert(const std::string& id, const Envelope& env, const MessageInfo& info, Status status,
                   std::int64_t next_attempt) {
    // A shared store keeps the copy of mail that may still be sent or shown;
    // a rejected message keeps none (the caller removes it).
    std::optional<std::string> image;
    bool keep = status == Status::queued || status == Status::held || status == Status::captured;
    if (state_->shared() && keep) {
        image = local_image(id);
        if (!image) throw std::runtime_error("insert " + id + ": no spool copy to store");
    }
    write("record the message",
          [&] { state_->insert(id, env, info, status, next_attempt, image ? std::string_view(*image) : ""); });
    // Committed with the row: the store's copy is the truth from now on.
    if (image) remove_spool(id);
}

std::optional<QueueRow> Queue::row(const std::string& id) { return state_->row(id); }

std::vector<QueueRow> Queue::rows_with_status(Status st) { return state_->rows_with_status(st); }

std::vector<RecipientState> Queue::recipients(const std::string& id) { return state_->recipients(id); }

bool Queue::begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) {
    return write("record the intent to send", [&] { return state_->begin_attempt(id, attempt, next_attempt); });
}

std::vector<std::string> Queue::interrupted() { return state_->interrupted(); }

std::vector<std::string> Queue::due(std::int64_t now, std::size_t limit) { return state_->due(now, limit); }

void Queue::record_attempt(const std::string& id, const std::vector<RecipientState>& results, Status status,
                           int attempts, std::int64_t next_attempt, const std::string& last_error) {
    write("record the outcome",
          [&] { state_->record_attempt(id, results, status, attempts, next_attempt, last_error); });
}

void Queue::set_status(const std::string& id, Status st) {
    write("set the status", [&] { state_->set_status(id, st); });
}

bool Queue::release(const std::string& id) {
    return write("release", [&] { return state_->release(id); });
}

std::vector<Queue::Record> Queue::list(std::optional<Status> status, std::string_view action, std::size_t limit,
                                       std::optional<std::string_view> account) {
    return state_->list(status, action, limit, account);
}

std::optional<Queue::Record> Queue::record(const std::string& id) { return state_->record(id); }

std::vector<Queue::Attempt> Queue::attempts(const std::string& id) { return state_->attempts(id); }

bool Queue::drop(const std::string& id) {
    return write("drop", [&] { return state_->drop(id); });
}

std::vector<std::string> Queue::expire_held(std::int64_t cutoff) {
    return write("expire held mail", [&] { return state_->expire_held(cutoff); });
}

void Queue::add_event(const std::string& id, std::string_view kind) {
    write("record an event", [&] { state_->add_event(id, kind); });
}

std::vector<Queue::StatRow> Queue::stat_rows() { return state_->stat_rows(); }

std::vector<std::pair<std::string, std::int64_t>> Queue::status_counts() { return state_->status_counts(); }

bool Queue::use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                              std::int64_t forget_before) {
    return write("remember a confirmation",
                 [&] { return state_->use_confirm_nonce(nonce, message_id, now, forget_before); });
}

} // namespace rapport::daemon
