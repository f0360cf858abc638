// systemd.cc - see systemd.h.

#include "daemon/lib/systemd.h"

#include <systemd/sd-daemon.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

namespace rapport::daemon::sd {

bool notify(const std::string& state) { return ::sd_notify(0, state.c_str()) > 0; }

void ready(const std::string& s) { notify("READY=1\nSTATUS=" + s); }

void status(const std::string& s) { notify("STATUS=" + s); }

void reloading() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
    notify("RELOADING=1\nSTATUS=reloading the policy\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() { notify("STOPPING=1\nSTATUS=shutting down"); }

namespace {

// The address a listening socket is bound to; nullopt if not AF_INET/AF_INET6.
std::optional<HostPort> bound_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        return HostPort{buf, ntohs(a->sin_port)};
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        return HostPort{buf, ntohs(a->sin6_port)};
    }
    return std::nullopt;
}

} // namespace

ListenFds take_listen_fds(Config& cfg, const std::function<void(const std::string&)>& log) {
    ListenFds out;
    char** names = nullptr;
    int n = ::sd_listen_fds_with_names(1, &names);
    if (n <= 0) {
        if (n < 0) log("warning: socket activation: " + std::string(std::strerror(-n)));
        return out;
    }
    struct Fd {
        int fd;
        std::string name;
        HostPort addr;
    };
    std::vector<Fd> fds;
    for (int i = 0; i < n; ++i) {
        int fd = SD_LISTEN_FDS_START + i;
        std::string name = names && names[i] ? names[i] : "";
        if (names) std::free(names[i]);
        auto addr = bound_address(fd);
        if (::sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 || !addr) {
            log("warning: socket activation: fd " + std::to_string(fd) + " (" + name +
                ") is not a listening TCP socket; closed");
            ::close(fd);
            continue;
        }
        fds.push_back({fd, name, *addr});
    }
    std::free(names);

    // By name, then by the configured port, then in order.
    auto pick = [&](const std::string& name, std::uint16_t port) -> std::optional<Fd> {
        for (int pass = 0; pass < 3; ++pass) {
            for (auto it = fds.begin(); it != fds.end(); ++it) {
                bool hit = pass == 0 ? it->name == name
                         : pass == 1 ? (port != 0 && it->addr.port == port && it->name != "smtp" && it->name != "http")
                                     : (it->name != "smtp" && it->name != "http");
                if (hit) {
                    Fd f = *it;
                    fds.erase(it);
                    return f;
                }
            }
        }
        return std::nullopt;
    };
    std::uint16_t smtp_port = cfg.listen.port, http_port = cfg.http.port;
    if (auto f = pick("smtp", smtp_port)) {
        out.smtp = f->fd;
        cfg.listen = f->addr;
        log("socket activation: SMTP on " + f->addr.str() + " (fd " + std::to_string(f->fd) + ")");
    }
    if (auto f = pick("http", http_port)) {
        out.http = f->fd;
        cfg.http = f->addr;
        log("socket activation: HTTP on " + f->addr.str() + " (fd " + std::to_string(f->fd) + ")");
    }
    for (const auto& f : fds) {
        log("warning: socket activation: no use for fd " + std::to_string(f.fd) + " (" + f.name + ", " +
            f.addr.str() + "); closed");
        ::close(f.fd);
    }
    return out;
}

std::chrono::microseconds Watchdog::start() {
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return period_ = std::chrono::microseconds(0);
    period_ = std::chrono::microseconds(usec / 2);
    notify("WATCHDOG=1");
    arm();
    return period_;
}

void Watchdog::arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        notify("WATCHDOG=1");
        arm();
    });
}

} // namespace rapport::daemon::sd
