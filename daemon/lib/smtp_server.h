// smtp_server.h - the SMTP listener and sessions (Boost.Asio, one network thread).
//
//   SmtpServer srv(io, cfg, intake, tls_ctx, log);
//   srv.start();            // binds cfg.listen (port 0: any), throws on failure
//   srv.start(fd);          // or adopts a listening socket (systemd.h)
//   io.run();
//
// A session speaks SMTP and nothing else (Postfix smtpd): it reads the
// envelope and the message, then hands both to the Intake and sends the
// reply the intake decides. It never parses MIME or runs rules.
//
// Security notes:
// - Strict framing (smtp_protocol.h): a bare CR or LF in a command or in
//   DATA gets "521 5.5.2" and the connection is closed at once, so nothing
//   after the ambiguous byte is ever interpreted (SMTP smuggling).
// - Improper pipelining (Postfix reject_unauth_pipelining): bytes already
//   waiting when the greeting is due, when a command that must end a group
//   (EHLO, HELO, DATA, STARTTLS, AUTH) is read, or any command pipelined
//   without EHLO having offered PIPELINING, get "503 5.5.0" and a close.
//   After STARTTLS all state and buffered bytes are discarded (RFC 3207,
//   CVE-2011-0411).
// - AUTH PLAIN/LOGIN (RFC 4954) against [auth] users and job club members
//   (logins.h: argon2id hashes for both, failures limited per client
//   address across connections, answered after a delay that does not
//   depend on the user), only over TLS unless on loopback; when the
//   listener is not loopback, MAIL requires AUTH.
// - Limits: size (552 5.3.4), recipients (452 4.5.3), command line length
//   (500 5.5.2), data line length (554 5.6.0), errors (421 4.7.0), time for
//   a whole command line and for DATA with a minimum rate - totals, not
//   reset by each byte - (421 4.4.2), connection count and connections per
//   client address (421 4.7.0). Reads are at most 16 KiB per turn, so one
//   client cannot monopolise the loop. A client that stops reading our
//   replies is closed at its deadline.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "daemon/lib/config.h"
#include "daemon/lib/intake.h"
#include "daemon/lib/logins.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rapport::daemon {

// End-of-DATA to reply-written latencies, microseconds (bounded sample).
class LatencyStats {
public:
    void add(std::int64_t us);
    // "n=.. p50=..us p90=.. p99=.. max=.." over the recorded sample;
    // `reset` starts a new sample.
    std::string summary(bool reset = false);

private:
    std::mutex mu_;
    std::vector<std::int64_t> sample_;
};

class ClientCounts; // open sessions per client address (smtp_server.cc)

class SmtpServer {
public:
    SmtpServer(boost::asio::io_context& io, const Config& cfg, Intake& intake, boost::asio::ssl::context& tls,
               LogFn log);
    // `inherited`: a listening socket from systemd (socket activation) to
    // adopt instead of binding cfg.listen; cfg.listen must name its address.
    void start(int inherited = -1);
    void stop();
    // Who may log in (AUTH is offered only when someone can); before start().
    void set_logins(Logins* l) { logins_ = l; }
    std::uint16_t port() const;
    LatencyStats& latency() { return *latency_; }

private:
    void do_accept();
    boost::asio::io_context& io_;
    const Config& cfg_;
    Intake& intake_;
    boost::asio::ssl::context& tls_;
    LogFn log_;
    boost::asio::ip::tcp::acceptor acceptor_;
    bool auth_required_ = false;
    std::shared_ptr<std::atomic<std::size_t>> active_;
    std::shared_ptr<LatencyStats> latency_;
    std::shared_ptr<ClientCounts> clients_;
    Logins* logins_ = nullptr;
};

} // namespace rapport::daemon
