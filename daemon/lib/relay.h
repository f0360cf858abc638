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
// What leaves is the sender's message: Bcc and X-Rapport-Confirm header
// fields removed, everything else byte for byte (Message-ID kept, nothing of
// Rapport's findings added). Line ends are normalised to CRLF here because
// curl's CURLOPT_CRLF would also touch CRLF already present; curl does the
// dot-stuffing (RFC 5321 4.5.2) itself.
//
// STARTTLS is required (CURLUSESSL_ALL) unless the upstream is loopback;
// certificates are verified. Each worker keeps one curl handle, so its
// connection to the upstream is reused between messages.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rapport::daemon {

// Removes the Bcc and X-Rapport-Confirm fields (with their folded lines) from
// the header section and turns every line end (CRLF, bare LF, bare CR) into
// CRLF. The body is otherwise untouched.
std::string prepare_for_relay(std::string_view data);

// The outcome of one SMTP transaction, per recipient.
struct SendOutcome {
    bool transaction_done = false;   // the upstream answered end-of-data
    std::string error;               // connection/TLS/auth problem (temporary)
    std::vector<RecipientState> rcpts; // status "sent", "failed" or "pending" (retry)
};

// One upstream connection (a curl easy handle). Not thread-safe; one per worker.
class SmtpClient {
public:
    // `stopping` (may be null) aborts a transfer in progress when it turns true.
    SmtpClient(const Upstream& up, const RelaySettings& rs, std::string helo, const std::atomic<bool>* stopping = nullptr);
    ~SmtpClient();
    SmtpClient(const SmtpClient&) = delete;
    SmtpClient& operator=(const SmtpClient&) = delete;
    SendOutcome send(const std::string& mail_from, const std::vector<std::string>& rcpts, std::string_view data);

private:
    const Upstream& up_;
    const RelaySettings& rs_;
    std::string url_;
    const std::atomic<bool>* stopping_;
    void* curl_ = nullptr;
};

using LogFn = std::function<void(const std::string&)>;

// Builds the notice told to the sender when recipients failed for good.
std::string failure_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                           const std::vector<RecipientState>& failed, std::string_view original);

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

private:
    void worker();
    // The time to try again, or nothing when the message is done with.
    std::optional<std::int64_t> process(SmtpClient& client, const std::string& id);
    void notify_sender(const SpooledMessage& msg, const std::vector<RecipientState>& failed);

    const Config& cfg_;
    Queue& q_;
    LogFn log_;
    std::mutex mu_;
    std::condition_variable cv_;
    using Item = std::pair<std::int64_t, std::string>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> due_;
    std::set<std::string> scheduled_; // ids in due_ or being sent: never twice at once
    bool stop_ = false;
    std::atomic<bool> stopping_{false}; // read by curl's progress callback
    std::vector<std::thread> threads_;
};

} // namespace rapport::daemon
