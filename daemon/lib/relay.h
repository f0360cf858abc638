// relay.h - hands queued messages to the upstream server with libcurl.
//
//   Relay relay(cfg, queue, log);
//   relay.start();            // loads every queued message, starts the workers
//   relay.schedule(id, now);  // after a new message is queued or released
//
// Contract: at-least-once. A message leaves the queue only after the
// upstream's final reply; a crash in between makes it go again on the next
// start ("better to deliver twice than to lose mail"). Per-recipient results
// are recorded; 4xx and connection failures are retried with exponential
// backoff (retry_initial doubling to retry_max) until `lifetime`, then the
// remaining recipients fail; 5xx fails a recipient at once. For failed
// recipients the envelope sender gets one notice mail (null sender <>, so
// notices never cause notices) relayed through the same upstream.
//
// Each attempt is written down twice: the intent before anything is sent
// (Queue::begin_attempt: the attempt number and the time of the next try,
// so the backoff grows even if nothing after it can be written), the
// outcome after. A write that fails never means "not sent": when the
// intent cannot be written nothing is sent; when the outcome cannot be
// written (the upstream has the message, the disk is full) the outcome is
// kept in memory and the message is not tried again. Either way relaying
// stops for a while ("disk full: relaying paused"), 1 s doubling up to
// 60 s, and resumes - outcomes kept in memory written first - once a write
// succeeds (Queue::on_writes_resumed wakes it at once). An outcome still
// unwritten when rapportd stops is logged as an error: that message goes
// again after the restart, the same as after a crash mid-attempt.
//
// One upstream connection per worker: smtp_client.h. With an OAuth2
// upstream the workers share one TokenSource (token_command.h).
//
// A shared queue ([store] url, several nodes): every node's relay takes
// up every queued message, whoever accepted it. begin_attempt is the
// claim (store/pg_queue.h): of two nodes trying one message one sends and
// the other finds it taken and forgets it, so recipients and the copy are
// read only after the claim. A node hears of newly queued or released mail
// at once (heard(), NOTIFY rapport_queue) and polls the store for due
// messages every kPollSeconds as the safety net (a reconnect, a lost
// notification, another node's retry coming due).

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/smtp_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rapport::daemon {

using LogFn = std::function<void(const std::string&)>;

class Relay {
public:
    Relay(const Config& cfg, Queue& q, LogFn log);
    ~Relay();
    void start();
    void stop();
    // Relay `id` no earlier than `due` (seconds since the epoch).
    void schedule(const std::string& id, std::int64_t due);
    // Messages waiting (in memory), for logs and tests.
    std::size_t backlog();
    // A shared queue's notification: `payload` is a message id that became
    // queued; "" asks for a poll (the listener reconnected and may have
    // missed some).
    void heard(const std::string& payload);
    static constexpr std::chrono::seconds kPollSeconds{5};

    // A message Rapport writes itself to a sender (a delivery failure, a
    // held message): from the null sender, so it can never cause mail about
    // itself, and never judged.
    struct Notice {
        std::string sender;  // the recipient: the sender of the message it is about
        std::string data;    // the whole message
        std::string subject; // for listings
        std::string about;   // the id of the message it is about, for the log
    };
    // Queues a notice for relaying. When the queue refuses the write it is
    // kept in memory and queued once writes succeed.
    void notify(Notice n);

private:
    // What an attempt found, to be written to the queue.
    struct Outcome {
        std::string id;
        std::vector<RecipientState> results;
        Status status = Status::queued;
        int attempts = 0;
        std::int64_t next = 0; // when queued: the next try
        std::string error;
        std::vector<RecipientState> failed; // recipients that failed for good in this attempt
        std::string sender, notice;         // the notice about `failed` to the sender, "" for none
    };
    // What to do with a message after process().
    struct Next {
        enum { done, retry, parked } what = done;
        std::int64_t at = 0; // retry: when
    };
    void worker();
    Next process(SmtpClient& client, const std::string& id);
    // Writes the outcome; when that fails keeps it (parked) and pauses.
    Next finish(Outcome o);
    // Removes the spool copy of a finished message and queues its notice.
    void after_recorded(const Outcome& o);
    // Stops relaying for a while after a failed write (with mu_ held).
    void pause_for_storage(const std::string& what, const StorageError& e);
    // Writes parked outcomes; false when the queue still refuses them.
    bool flush_parked(std::unique_lock<std::mutex>& lk);
    bool queue_notice(const Notice& n);
    void poll(); // a shared queue: due messages, every kPollSeconds or when asked

    const Config& cfg_;
    Queue& q_;
    LogFn log_;
    std::mutex mu_;
    std::condition_variable cv_;
    using Item = std::pair<std::int64_t, std::string>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> due_;
    std::set<std::string> scheduled_; // ids in due_ or being sent or parked: never twice at once
    std::vector<Outcome> parked_;     // sent, but not yet written down: never sent again meanwhile
    std::vector<Notice> unqueued_notices_; // to queue once writes succeed
    std::chrono::steady_clock::time_point paused_until_{};
    std::chrono::seconds storage_backoff_{1};
    bool flushing_ = false;
    std::size_t resumed_handle_ = 0;
    bool stop_ = false;
    std::atomic<bool> stopping_{false}; // read by curl's progress callback
    std::unique_ptr<TokenSource> tokens_; // [upstream] auth = xoauth2|oauthbearer: the workers' access token
    std::vector<std::thread> threads_;
    std::condition_variable poll_cv_; // under mu_
    bool poll_now_ = false;
};

} // namespace rapport::daemon
