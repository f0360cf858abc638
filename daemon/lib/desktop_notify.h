// desktop_notify.h - a desktop notification when the proxy holds mail, for
// people who send without the add-on (another mail program, a phone, the
// add-on not installed): otherwise held mail waits unseen until it expires.
//
//   DesktopNotify desktop([&] { return api.login_link_url(); }, log);
//   desktop.start();                       // false: no session bus, nothing will show
//   desktop.held({id, "Anna Kowalska", 0, "Your CV is attached, but ..."});   // Holds::hold()
//   desktop.stop();
//
// Through the freedesktop Notifications service on the user's session bus
// (org.freedesktop.Notifications.Notify, Desktop Notifications
// Specification 1.2), with sd-bus from libsystemd:
//   summary  "Rapport is holding your message to Anna Kowalska"
//   body     the first finding, one plain sentence (escaped when the
//            server takes markup)
//   actions  "default" and "review", both labelled "Review"
// all in the language of the finding shown (daemon/po/<lang>.po, "desktop").
// Review (or a click on the notice) makes a fresh one-time login link to
// the held-mail page - the same codes as `rapportctl open` - and opens it
// with `xdg-open URL` (no shell). The link is made only when asked for, so
// a notice that stays on screen for a day still opens the page; it is
// never logged. Signals are taken only from the bus name
// org.freedesktop.Notifications (the bus daemon vouches for the sender),
// and only for notices this daemon showed.
//
// No session bus - a system service, a server, a job club's machine - and
// start() says so once in the log and held() does nothing: each held
// message already has its own log line. Off by default for a system
// service and for root ([hold] notify_desktop unset: desktop_by_default()),
// so a machine's daemon never reaches into whichever session bus its
// environment happens to name. A notification server that is
// missing or refuses is a warning in the log, never a delay for mail:
// held() only queues, and the bus is spoken to on a thread of its own.

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

struct sd_bus;

namespace rapport::daemon {

using LogFn = std::function<void(const std::string&)>;

struct HeldNotice {
    std::string id;        // the held message
    std::string addressee; // its first recipient, by name where the To field gives one
    std::size_t others = 0; // how many more recipients it has
    std::string reason;    // its first finding, for the body
    std::string lang = "en"; // the language `reason` is written in; the notice is said in it too
};

// Whether desktop notices are on when [hold] notify_desktop is not set:
// off for root and for a system service (`system_unit` is the systemd unit
// the process runs in, "" outside systemd; `user_unit` the unit of a user's
// service manager, "" when none). A user service, a program started in a
// desktop session or by hand: on.
bool desktop_by_default(unsigned euid, const std::string& system_unit, const std::string& user_unit);
// desktop_by_default() for this process (libsystemd's sd_pid_get_unit and
// sd_pid_get_user_unit).
bool desktop_by_default();

class DesktopNotify {
public:
    using LinkFn = std::function<std::string()>; // a fresh one-time login URL, "" when none can be made

    static constexpr std::size_t kMaxWaiting = 50; // notices queued before the bus takes them; more are dropped
    static constexpr std::size_t kMaxShown = 200;  // notices whose Review button still works

    DesktopNotify(LinkFn page_link, LogFn log);
    ~DesktopNotify();
    DesktopNotify(const DesktopNotify&) = delete;
    DesktopNotify& operator=(const DesktopNotify&) = delete;

    // Connects to the session bus and starts the thread; false (and one log
    // line) when there is no session bus.
    bool start();
    // Closes the bus and joins the thread. Idempotent.
    void stop();
    // Queues a notice for the desktop and returns at once.
    void held(HeldNotice n);

    // The notice's words, for the tests.
    static std::string summary(const HeldNotice& n); // "Rapport is holding your message to Anna Kowalska"

private:
    void run();
    void show(const HeldNotice& n);
    void open_page(const std::string& held_id);
    void reap_openers(bool wait);
    struct Signals; // the bus's callbacks (desktop_notify.cc)
    friend struct Signals;

    LinkFn page_link_;
    LogFn log_;
    sd_bus* bus_ = nullptr;
    int wake_fd_ = -1; // eventfd: held() and stop() wake the thread
    std::thread thread_;
    std::mutex mu_;
    std::deque<HeldNotice> waiting_;
    bool running_ = false;
    bool stop_ = false;
    // On the thread only:
    std::map<std::uint32_t, std::string> shown_; // notification id -> held message id
    std::vector<pid_t> openers_;                 // xdg-open runs not yet reaped
};

} // namespace rapport::daemon
