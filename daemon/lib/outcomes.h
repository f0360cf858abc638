// outcomes.h - the reply ledger inside rapportd: what left, what came back.
//
//   Outcomes outcomes(cfg, queue, log);           // opens <state>/ledger.db
//   Outcomes outcomes(cfg, queue, log, store.ledger_rows(Outcomes::inbox_name(cfg.imap)));  // [store] url
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
// see every write queued before them (waiting at most 3 s: a store that
// hangs must not hang the page and /metrics too).
//
// With [store] url the ledger is in PostgreSQL, one for every node. A
// store that is down loses no routed or released event: the batch that
// failed and everything after it wait in memory, in order, and are written
// when the store answers again (tried again after 1 s, doubling to 30 s,
// and at once when the pool reaches the store). At most kMaxWaiting events
// wait (about 1 KB each: 100 MB at worst, a day of a very busy
// installation); beyond that newer ones are dropped and counted - the mail
// itself is never held up for the ledger. One log line when the store goes
// away, one when it is back (with how many were written, and dropped).
// Readers (summary, the add-on's reports) do not wait for those events
// while the store is down: they fail on their own (503 through the API).
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
#include <cstdint>
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
    // `rows` null: SQLite, <state>/ledger.db.
    Outcomes(const Config& cfg, Queue* queue, LogFn log, std::unique_ptr<policies::outcomes::LedgerRows> rows = nullptr);
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
    // Waits until every write queued so far is done (or waits for a store
    // that is down).
    void flush();
    // The store answers again: write what waits for it now.
    void store_back();

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

    // The name an inbox is known by in a shared ledger (its folders' places
    // and which node reads it): "imap.example.org:993/amira@example.org".
    static std::string inbox_name(const ImapSettings& imap);

    static constexpr std::size_t kMaxWaiting = 100000;

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
    bool down_ = false;  // the store is unavailable: jobs_ wait for it
    bool retry_now_ = false; // store_back() was called
    std::uint64_t dropped_ = 0; // events dropped in this outage (kMaxWaiting)
    std::thread thread_;
};

} // namespace rapport::daemon
