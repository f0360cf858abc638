// intake.h - what happens between end-of-DATA and the reply: spool, verdict, route.
//
//   intake.submit(env, std::move(data), [](std::string reply) { ... });
//
// Work runs off the network thread, so one slow fsync or a long check
// cannot stall other sessions. Order:
//   1. spool it on the spool pool (Queue::spool_new: a spool log record,
//      or a file and its directory, fdatasync'd; in parallel); on failure
//      reply 451 4.3.0 and forget the message (nothing checked, nothing
//      recorded);
//   2. judge it on the account's verdict lane (verdict.h);
//   3. reject: delete the spool file, keep a "rejected" row, reply 550 5.7.1
//      with the findings; hold: to Holds (hold.h), unless the sender
//      already confirmed it; otherwise row "queued" and hand it to the
//      relay (or "captured" without upstream); tell the reply ledger
//      (outcomes.h) what became of it.
// When the policy cannot reject, every verdict ends in 250, so the 250 is
// sent right after step 1 and steps 2-3 follow behind it (Postfix's
// cleanup -> queue -> qmgr split): the client never waits for the checks.
// A crash in between leaves a spool file with no row, which recover()
// judges at the next start. When the policy can reject, the reply waits
// for step 3. Capture mode differs only in that nothing leaves.
// Flow control: at most [spool] max_backlog messages may wait for a verdict
// after their 250 (they wait on disk, not in memory: the lane reads the
// spool file when it gets to them). Beyond that a reply waits until a slot
// frees, so a sender faster than the checks is slowed to their pace.
// The reply callback runs on a pool thread; callers post it to their own
// executor. recover() re-judges spool files the database does not know
// (a crash between fsync and the row) and removes files of finished ones.
// A full disk: when the state row cannot be written (Queue::StorageError)
// after the 250 went out, the message stays in the spool and its verdict in
// memory ("stranded"); a thread of its own tries again (1 s doubling to
// 30 s, and at once when any write succeeds again) until it is recorded and
// routed, so nothing waits for a restart. When the 250 had not gone out yet
// the spool copy is removed and the client hears 451 4.3.0 (it retries; the
// message is not doubled). While the queue refuses writes (accepting()
// false) new mail is refused: 452 4.3.1 at MAIL FROM, 451 4.3.1 at the end
// of DATA.
// The store down ([store] url: PostgreSQL unreachable or failing over):
// a message that cannot be judged (Judgement::unavailable) is acknowledged
// all the same once it is spooled - only a spool that cannot take it
// means 4xx - and waits unjudged among the stranded, in the spool, until
// the store is back (wake(), called when it is reached again, or the
// backoff); then it is judged and routed, a reject verdict held instead
// (the 250 went out). Nothing is relayed unjudged.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/thread_pool.hpp>

#include "daemon/lib/config.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/outcomes.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/relay.h"
#include "daemon/lib/verdict.h"

#include <condition_variable>
#include <mutex>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace rapport::daemon {

class Intake {
public:
    // `relay` null: capture mode. `outcomes` (the reply ledger) may be null.
    Intake(const Config& cfg, Queue& q, VerdictStage& verdict, Relay* relay, Holds& holds, Outcomes* outcomes,
           LogFn log);
    ~Intake();
    void submit(Envelope env, std::string data, std::function<void(std::string reply)> done);
    // Synchronous; call before the relay starts and the server listens.
    void recover();
    void stop(); // waits for work in flight
    // False while the queue refuses writes: new mail would be stranded.
    bool accepting() const { return !q_.writes_failing(); }
    // Accepted messages not yet recorded (a full disk) or not yet judged
    // (the store down); for logs, /metrics and tests.
    std::size_t stranded();
    // The store is reachable again: try the stranded at once.
    void wake();

private:
    // Step 3: records the verdict, hands the message on; returns the reply.
    std::string route(const std::string& id, const Envelope& env, std::string_view data, const Judgement& j,
                      std::int64_t spool_us, std::int64_t check_us);
    struct Stranded {
        std::string id;
        Envelope env;
        Judgement judgement;
        bool judged = true; // false: the store was down, judge it first
    };
    void strand(Stranded s, const std::exception& why);
    void strand_unjudged(const std::string& id, Envelope env, const std::string& why);
    void heal(); // the thread that finishes stranded messages
    const Config& cfg_;
    Queue& q_;
    VerdictStage& verdict_;
    Relay* relay_;
    Holds& holds_;
    Outcomes* outcomes_;
    LogFn log_;
    std::mutex backlog_mu_;
    std::condition_variable backlog_cv_;
    std::size_t backlog_ = 0;
    std::mutex heal_mu_;
    std::condition_variable heal_cv_;
    std::vector<Stranded> stranded_;
    bool heal_stop_ = false, heal_now_ = false;
    std::size_t resumed_handle_ = 0;
    std::thread healer_;
    boost::asio::thread_pool pool_;
};

} // namespace rapport::daemon
