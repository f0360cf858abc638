// outcomes.h - the reply ledger inside rapportd: what left, what came back.
//
//   Outcomes outcomes(cfg, queue, log);           // opens <state>/ledger.db
//   outcomes.routed(id, env, j, status);          // Intake: what became of a message
//   outcomes.released(id);                        // "Send anyway" on a held message
//   outcomes.start();                             // the inbox reader, when [imap] is set
//   nlohmann::json j = outcomes.summary(&account); // GET /api/v1/outcomes
//
// Wires policies/outcomes/ledger.h (the store and the matching) to the
// daemon's events: a verdict's route (queued = it leaves, held, rejected;
// captured mail never leaves and is not an application), a release, the
// add-on's reports (POST /api/v1/sent and /api/v1/incoming) and the inbox
// reader (imap_reader.h).
//
// The mail path never waits for the ledger: routed() and released() only
// queue the write for the ledger's own thread (a lowered-priority
// background thread), so no SQLite write stands between end-of-DATA and the
// 250, even when the policy can reject and the reply waits for the route.
// That thread writes what piles up within 200 ms in one transaction (a
// burst of 2000 messages costs a few commits, not 2000). Readers call flush() first to
// see every write queued before them.
//
// Failures rapportd itself saw (the upstream refused a recipient for good)
// are bounces too: before each summary, waiting applications younger than
// the relay's lifetime are looked up in the queue (a few indexed reads).
//
// Thread-safe.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/verdict.h"
#include "policies/outcomes/ledger.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rapport::daemon {

class ImapReader;
using LogFn = std::function<void(const std::string&)>;

class Outcomes {
public:
    // `queue` may be null (then rapportd's own relay failures are not seen).
    Outcomes(const Config& cfg, Queue* queue, LogFn log);
    ~Outcomes();
    Outcomes(const Outcomes&) = delete;
    Outcomes& operator=(const Outcomes&) = delete;

    // Starts the inbox reader when [imap] url is set.
    void start();
    // Stops the reader and finishes queued writes.
    void stop();

    // A verdict's route (Intake). Queued for the ledger's thread.
    void routed(const std::string& id, const Envelope& env, const Judgement& j, Status status);
    // A held message sent anyway. Queued for the ledger's thread.
    void released(const std::string& id);
    // Waits until every write queued so far is done.
    void flush();

    // POST /api/v1/sent: a message the add-on saw leave. False when this
    // account already has that Message-ID (nothing more is recorded).
    bool record_sent(policies::outcomes::Outgoing m);
    // POST /api/v1/incoming: one received message's header section.
    policies::outcomes::Answer incoming(std::string_view headers);
    // Whether `account` has recorded a message with this Message-ID.
    bool has_message(const std::string& account, const std::string& message_id);

    // The outcomes JSON (SPEC.md) of one account, or everyone's (nullptr).
    nlohmann::json summary(const std::string* account);
    // The inbox reader's state for people: {"configured", "state", "message", ...}.
    nlohmann::json inbox();
    // Applications by class and replies by match, ever (GET /metrics).
    policies::outcomes::Totals totals();

    policies::outcomes::Ledger& ledger() { return ledger_; }

private:
    void post(policies::outcomes::Ledger::Change change);
    void worker();
    void note_relay_failures(std::int64_t now);

    const Config& cfg_;
    Queue* queue_;
    LogFn log_;
    policies::outcomes::Ledger ledger_;
    std::unique_ptr<ImapReader> reader_;

    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::deque<policies::outcomes::Ledger::Change> jobs_;
    bool busy_ = false, stopping_ = false, stopped_ = false;
    bool hurry_ = false; // a reader waits in flush(): write now
    std::thread thread_;
};

} // namespace rapport::daemon
