// systemd.h - rapportd's side of the service manager (libsystemd's sd-daemon).
//
//   sd::notify("STATUS=listening on 127.0.0.1:2525");
//   auto fds = sd::take_listen_fds(cfg, log);   // before binding anything
//   srv.start(fds.smtp);                         // -1: bind cfg.listen as usual
//   sd::Watchdog dog(io); dog.start();           // WATCHDOG=1 from the event loop
//   sd::ready("listening on ...");               // READY=1 + STATUS=
//   sd::reloading(); ... sd::ready(...);          // around a SIGHUP reload
//   sd::stopping();
//
// Everything here is a no-op outside systemd (no $NOTIFY_SOCKET, no
// $LISTEN_FDS, no $WATCHDOG_USEC), so a daemon started by hand or by the
// tests behaves as before.
//
// Socket activation (rapportd.socket): inherited listening TCP sockets are
// matched to the SMTP and HTTP listeners by FileDescriptorName= ("smtp",
// "http"), else by port (the configured one), else in order (first SMTP,
// then HTTP). The configured address of an adopted listener is replaced by
// the socket's real one, so the loopback rules (AUTH, open relay refusal)
// judge the address actually listened on. Sockets that match nothing, or
// that are not listening TCP sockets, are closed with a warning.
//
// Watchdog: when the unit sets WatchdogSec=, WATCHDOG=1 is sent from a
// timer on the given io_context every half period, so a wedged SMTP event
// loop stops the pings and systemd restarts the service.

#pragma once

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/lib/config.h"

#include <chrono>
#include <functional>
#include <string>

namespace rapport::daemon::sd {

// sd_notify(3) with `state` ("READY=1\nSTATUS=..."); false when not under systemd.
bool notify(const std::string& state);
void ready(const std::string& status);
void status(const std::string& status);
// RELOADING=1 with MONOTONIC_USEC= (systemd 253's Type=notify-reload wants it;
// older managers ignore the extra field).
void reloading();
void stopping();

struct ListenFds {
    int smtp = -1; // listening TCP sockets handed over by systemd; -1: none
    int http = -1;
};

// Takes the sockets passed by the service manager (clears $LISTEN_FDS) and
// points cfg.listen / cfg.http at the addresses they are bound to.
ListenFds take_listen_fds(Config& cfg, const std::function<void(const std::string&)>& log);

class Watchdog {
public:
    explicit Watchdog(boost::asio::io_context& io) : timer_(io) {}
    // Arms the timer if the service manager asked for pings; returns the period (0: off).
    std::chrono::microseconds start();
    void stop() { timer_.cancel(); }

private:
    void arm();
    boost::asio::steady_timer timer_;
    std::chrono::microseconds period_{0};
};

} // namespace rapport::daemon::sd
