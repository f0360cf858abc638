// http_server.h - the HTTP listener for the API and the page (Boost.Beast).
//
//   HttpServer http(cfg, api, holds, log);
//   http.start();           // binds cfg.http (port 0: any), runs its own thread
//   http.port();            // the bound port
//   http.stop();
//
// One thread with its own io_context: the API reads SQLite and runs the
// checker for /analyze, which must not stall SMTP sessions. Also runs a
// timer that expires held messages and forgets stale sessions.
// Limits on untrusted input (HttpLimits): header and body size (413/431 with
// a JSON body, then close), a deadline per request, a cap on open connections
// (over it new ones are closed at once). Keep-alive is honoured.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/lib/hold.h"
#include "daemon/lib/http_api.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>

namespace rapport::daemon {

struct HttpLimits {
    std::size_t max_header = 16 * 1024;          // request line + header fields
    std::size_t max_body = 32 * 1024 * 1024;     // /analyze takes whole messages (25 MB SMTP limit + encoding)
    unsigned request_timeout = 30;               // seconds to receive one request
    std::size_t max_connections = 64;
    unsigned sweep_interval = 30;                // seconds between expiry sweeps
};

class HttpServer {
public:
    HttpServer(const Config& cfg, HttpApi& api, Holds& holds, LogFn log, HttpLimits limits = {});
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
    Holds& holds_;
    LogFn log_;
    HttpLimits limits_;
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    boost::asio::steady_timer sweep_{io_};
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::shared_ptr<std::atomic<std::size_t>> open_ = std::make_shared<std::atomic<std::size_t>>(0);
};

} // namespace rapport::daemon
