// intake.h - what happens between end-of-DATA and the reply: spool, verdict, route.
//
//   intake.submit(env, std::move(data), [](std::string reply) { ... });
//
// Work runs on a small thread pool, never on the network thread, so one
// slow fsync or a long check cannot stall other sessions. Order:
//   1. write the spool file and fsync it (file and directory);
//      on failure reply 451 4.3.0 and forget the message (nothing checked);
//   2. judge it (verdict.h);
//   3. reject: delete the spool file, keep a "rejected" row, reply 550 5.7.1
//      with the findings; hold: row "held", reply 250; otherwise row
//      "queued" and hand it to the relay (or "captured" without upstream),
//      reply 250. Capture mode differs only in that nothing leaves.
// The reply callback runs on a pool thread; callers post it to their own
// executor. recover() re-judges spool files the database does not know
// (a crash between fsync and the row) and removes files of finished ones.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/thread_pool.hpp>

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/relay.h"
#include "daemon/lib/verdict.h"

#include <functional>
#include <string>

namespace rapport::daemon {

class Intake {
public:
    Intake(const Config& cfg, Queue& q, VerdictStage& verdict, Relay* relay, LogFn log);
    ~Intake();
    void submit(Envelope env, std::string data, std::function<void(std::string reply)> done);
    // Synchronous; call before the relay starts and the server listens.
    void recover();
    void stop(); // waits for work in flight

private:
    std::string accept(const std::string& id, const Envelope& env, std::string_view data, bool record);
    const Config& cfg_;
    Queue& q_;
    VerdictStage& verdict_;
    Relay* relay_;
    LogFn log_;
    boost::asio::thread_pool pool_;
};

} // namespace rapport::daemon
