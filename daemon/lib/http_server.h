// http_server.h - the HTTP listener for the API and the page (Boost.Beast).
//
//   HttpServer http(cfg, api, log);
//   http.start();           // binds cfg.http (port 0: any), runs its own thread
//   http.port();            // the bound port
//   http.stop();
//
// One thread with its own io_context: the API reads SQLite and runs the
// checker for /analyze, which must not stall SMTP sessions. Also runs a
// timer that forgets stale sessions and login codes.
// Limits on untrusted input (HttpLimits in config.h, [http] in the config
// file): header and body size (413/431 with a JSON body, then close); the
// request line and header must arrive within header_timeout of the
// connection (or of the last answer, for keep-alive) and the whole request
// within request_timeout - totals, not reset by each byte; at most
// max_connections open. At the cap a new connection first closes the one
// that has waited longest on its client (for a header, a body, or to read
// the answer: a slow or idle client), so slow clients cannot fill the cap;
// a real request takes milliseconds here and is never the oldest. Every
// client is on loopback (one address), so a limit per address would not
// tell them apart.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/lib/http_api.h"

#include <cstddef>
#include <memory>
#include <thread>
#include <unordered_set>

namespace rapport::daemon {

class HttpServer {
public:
    HttpServer(const Config& cfg, HttpApi& api, LogFn log);
    ~HttpServer();
    void start(int inherited = -1); // throws std::runtime_error when it cannot bind; fd: adopt (systemd.h)
    void stop();
    std::uint16_t port() const { return port_; }

private:
    class Session;
    void accept();
    void arm_sweep();
    const Config& cfg_;
    HttpApi& api_;
    LogFn log_;
    HttpLimits limits_;
    // Open sessions, touched on the server's thread only. Before io_: the
    // io_context's destructor destroys sessions still waiting, and they
    // take themselves out of this set.
    std::unordered_set<Session*> sessions_;
    std::uint64_t evicted_ = 0;
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    boost::asio::steady_timer sweep_{io_};
    std::thread thread_;
    std::uint16_t port_ = 0;
};

} // namespace rapport::daemon
