// desktop_notify.cc - see desktop_notify.h.

#include "daemon/lib/desktop_notify.h"

#include "daemon/lib/i18n.h"
#include "policies/catalogue.h"

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace rapport::daemon {
namespace {

constexpr const char* kService = "org.freedesktop.Notifications";
constexpr const char* kPath = "/org/freedesktop/Notifications";
constexpr std::uint64_t kCallTimeoutUsec = 5'000'000; // a notification server that hangs costs this thread 5 s
constexpr std::size_t kMaxName = 80;                   // of the addressee shown

// Header text shown on the desktop: no control characters, a bounded length.
std::string displayable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        out += u < 0x20 || u == 0x7f ? ' ' : c;
    }
    if (out.size() > max) {
        out.resize(max);
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back(); // whole UTF-8
        if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
        out += "...";
    }
    return out;
}

// The specification's body markup is a small XML subset: text must escape these.
std::string markup_escaped(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else out += c;
    }
    return out;
}

std::string bus_error(const sd_bus_error& e, int r) {
    if (e.message) return e.message;
    if (e.name) return e.name;
    return std::strerror(r < 0 ? -r : r);
}

// Calls one method of the notification service; false (and `why`) when it fails.
bool call(sd_bus* bus, sd_bus_message* m, sd_bus_message** reply, std::string& why) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int r = sd_bus_call(bus, m, kCallTimeoutUsec, &err, reply);
    if (r < 0) why = bus_error(err, r);
    sd_bus_error_free(&err);
    return r >= 0;
}

} // namespace

bool desktop_by_default(unsigned euid, const std::string& system_unit, const std::string& user_unit) {
    if (euid == 0) return false;
    if (!user_unit.empty()) return true; // systemctl --user: the person's own service manager
    // A login session is a scope ("session-3.scope"); a user manager is
    // "user@1000.service" itself. Any other service is the system's.
    return !system_unit.ends_with(".service") || system_unit.starts_with("user@");
}

bool desktop_by_default() {
    auto unit_of = [](int (*f)(pid_t, char**)) {
        char* u = nullptr;
        std::string out;
        if (f(0, &u) >= 0 && u) out = u;
        std::free(u);
        return out;
    };
    return desktop_by_default(::geteuid(), unit_of(sd_pid_get_unit), unit_of(sd_pid_get_user_unit));
}

// ActionInvoked(u id, s action_key) and NotificationClosed(u id, u reason).
struct DesktopNotify::Signals {
    static int on_action(sd_bus_message* m, void* userdata, sd_bus_error* err);
    static int on_closed(sd_bus_message* m, void* userdata, sd_bus_error* err);
};

std::string DesktopNotify::summary(const HeldNotice& n) {
    if (n.addressee.empty()) return tr_in(n.lang, "desktop", "Rapport is holding your message");
    const std::string name = displayable(n.addressee, kMaxName);
    if (n.others == 0)
        return policies::fill(tr_in(n.lang, "desktop", "Rapport is holding your message to {name}"), {{"name", name}});
    const long others = static_cast<long>(n.others);
    return policies::fill(tr_plural_in(n.lang, "desktop", "Rapport is holding your message to {name} and {n} other",
                                       "Rapport is holding your message to {name} and {n} others", others),
                          {{"name", name}, {"n", std::to_string(others)}});
}

DesktopNotify::DesktopNotify(LinkFn page_link, LogFn log) : page_link_(std::move(page_link)), log_(std::move(log)) {}

DesktopNotify::~DesktopNotify() { stop(); }

bool DesktopNotify::start() {
    int r = sd_bus_open_user(&bus_);
    if (r < 0) {
        bus_ = nullptr;
        log_(std::string("desktop: no session bus (") + std::strerror(-r) +
             "): held mail is not shown on a desktop, only logged");
        return false;
    }
    sd_bus_set_description(bus_, "rapportd-desktop-notices");
    r = sd_bus_match_signal(bus_, nullptr, kService, kPath, kService, "ActionInvoked", Signals::on_action, this);
    if (r >= 0) r = sd_bus_match_signal(bus_, nullptr, kService, kPath, kService, "NotificationClosed", Signals::on_closed,
                                this);
    wake_fd_ = r >= 0 ? ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
    if (r < 0 || wake_fd_ < 0) {
        log_(std::string("warning: desktop: cannot listen on the session bus (") + std::strerror(r < 0 ? -r : errno) +
             "): held mail is not shown on a desktop");
        sd_bus_flush_close_unref(bus_);
        bus_ = nullptr;
        return false;
    }
    {
        std::lock_guard lk(mu_);
        running_ = true;
    }
    thread_ = std::thread([this] { run(); });
    log_("desktop: held mail is shown as a desktop notification (session bus)");
    return true;
}

void DesktopNotify::stop() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    if (bus_) {
        sd_bus_flush_close_unref(bus_);
        bus_ = nullptr;
    }
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
        wake_fd_ = -1;
    }
}

void DesktopNotify::held(HeldNotice n) {
    {
        std::lock_guard lk(mu_);
        if (!running_ || stop_) return;
        if (waiting_.size() >= kMaxWaiting) {
            log_("warning: desktop: too many held-mail notices at once; " + n.id + " is not shown (it is held)");
            return;
        }
        waiting_.push_back(std::move(n));
    }
    std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
}

void DesktopNotify::run() {
    for (;;) {
        std::deque<HeldNotice> now;
        {
            std::lock_guard lk(mu_);
            if (stop_) break;
            now.swap(waiting_);
        }
        for (const auto& n : now) show(n);
        int r;
        while ((r = sd_bus_process(bus_, nullptr)) > 0) {
        }
        if (r < 0) {
            log_(std::string("warning: desktop: lost the session bus (") + std::strerror(-r) +
                 "): held mail is no longer shown on the desktop");
            break;
        }
        reap_openers(false);

        int timeout = openers_.empty() ? -1 : 1000; // an opener still running is looked at each second
        std::uint64_t until = 0;
        if (sd_bus_get_timeout(bus_, &until) >= 0 && until != UINT64_MAX) {
            timespec ts{};
            ::clock_gettime(CLOCK_MONOTONIC, &ts);
            std::uint64_t now_us = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
            int ms = until > now_us ? static_cast<int>(std::min<std::uint64_t>((until - now_us + 999) / 1000, 60'000)) : 0;
            timeout = timeout < 0 ? ms : std::min(timeout, ms);
        }
        pollfd fds[2] = {{sd_bus_get_fd(bus_), static_cast<short>(sd_bus_get_events(bus_)), 0},
                         {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, timeout) < 0 && errno != EINTR) break;
        if (fds[1].revents & POLLIN) {
            std::uint64_t v;
            (void)!::read(wake_fd_, &v, sizeof v);
        }
    }
    {
        std::lock_guard lk(mu_);
        running_ = false;
    }
    reap_openers(false);
}

void DesktopNotify::show(const HeldNotice& n) {
    std::string why;
    // What the server can do: markup in the body changes how text must be written.
    bool markup = false, actions = false;
    {
        sd_bus_message* m = nullptr;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_call(bus_, &m, kService, kPath, kService, "GetCapabilities");
        if (r < 0 || !call(bus_, m, &reply, why)) {
            if (r < 0) why = std::strerror(-r);
            log_("warning: desktop: no notification service answers on the session bus (" + why + "): held " + n.id +
                 " is not shown");
            sd_bus_message_unref(m);
            return;
        }
        char** caps = nullptr;
        if (sd_bus_message_read_strv(reply, &caps) >= 0 && caps) {
            for (char** c = caps; *c; ++c) {
                markup |= std::strcmp(*c, "body-markup") == 0;
                actions |= std::strcmp(*c, "actions") == 0;
                std::free(*c);
            }
            std::free(caps);
        }
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
    }
    std::string title = summary(n);
    const std::string review = tr_in(n.lang, "desktop", "Review");
    std::string body = displayable(n.reason, 400);
    if (markup) body = markup_escaped(body);

    sd_bus_message* m = nullptr;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &m, kService, kPath, kService, "Notify");
    // Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout)
    if (r >= 0)
        r = sd_bus_message_append(m, "susssasa{sv}i", "Rapport", static_cast<std::uint32_t>(0), "mail-unread",
                                  title.c_str(), body.c_str(), 4, "default", review.c_str(), "review", review.c_str(), 2,
                                  "category", "s", "email", "urgency", "y", 1, static_cast<std::int32_t>(-1));
    if (r < 0) why = std::strerror(-r);
    if (r < 0 || !call(bus_, m, &reply, why)) {
        log_("warning: desktop: the notification service refused the notice about held " + n.id + " (" + why + ")");
        sd_bus_message_unref(m);
        return;
    }
    std::uint32_t nid = 0;
    if (sd_bus_message_read(reply, "u", &nid) >= 0 && nid != 0) {
        if (shown_.size() >= kMaxShown) shown_.erase(shown_.begin());
        shown_[nid] = n.id;
    }
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    log_("desktop: notice shown for held " + n.id + (actions ? "" : " (this desktop shows no buttons; rapportctl open opens the page)"));
}

int DesktopNotify::Signals::on_action(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<DesktopNotify*>(userdata);
    std::uint32_t nid = 0;
    const char* key = nullptr;
    if (sd_bus_message_read(m, "us", &nid, &key) < 0 || !key) return 0;
    auto it = self->shown_.find(nid);
    if (it == self->shown_.end()) return 0; // another program's notice
    if (std::strcmp(key, "review") == 0 || std::strcmp(key, "default") == 0) self->open_page(it->second);
    return 0;
}

int DesktopNotify::Signals::on_closed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<DesktopNotify*>(userdata);
    std::uint32_t nid = 0, reason = 0;
    if (sd_bus_message_read(m, "uu", &nid, &reason) >= 0) self->shown_.erase(nid);
    return 0;
}

void DesktopNotify::open_page(const std::string& held_id) {
    std::string url = page_link_ ? page_link_() : "";
    if (url.empty()) {
        log_("warning: desktop: Review for held " + held_id + ": no login link could be made (too many unused); "
             "rapportctl open makes one");
        return;
    }
    std::string opener = "xdg-open";
    char* argv[] = {opener.data(), url.data(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ::explicit_bzero(url.data(), url.size());
    if (rc != 0) {
        log_("warning: desktop: Review for held " + held_id + ": cannot run xdg-open (" + std::strerror(rc) +
             "); rapportctl open makes a login link");
        return;
    }
    openers_.push_back(pid);
    // Never the link itself: it is a key to the page until it is used.
    log_("desktop: Review for held " + held_id + ": opening the held-mail page with a one-time login link");
}

void DesktopNotify::reap_openers(bool wait) {
    std::erase_if(openers_, [wait](pid_t pid) {
        int st = 0;
        return ::waitpid(pid, &st, wait ? 0 : WNOHANG) != 0;
    });
}

} // namespace rapport::daemon
