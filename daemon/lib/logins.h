// logins.h - SMTP AUTH: who may log in, and how fast anyone may guess.
//
//   Logins logins(cfg.users, &members, cfg.auth, log);  // hashes [auth] users' passwords now
//   logins.check("192.0.2.7", "amira", "pass phrase", [](Logins::Result r) { ... });
//
// Every password is checked against an argon2id hash (libsodium,
// members.h): job club members' from members.db, and the config file's
// [auth] users' too - a plain password there is hashed when rapportd starts
// and only the hash is kept; a "$argon2id$..." value is used as it is
// (`rapportctl hash-password` makes one). A name nobody has is checked
// against a dummy hash made at start. So every check costs the same whoever
// the user is: a failure does not tell a config user from a member from
// nobody, and none can be guessed faster than another.
//
// Guessing is limited per client address, across connections (the counts
// live here, not in a session):
//   - a failed attempt is answered failure_delay seconds after it was made,
//     doubling with each further failure from that address within
//     failure_window (1, 2, 4 ... s, at most max_failure_delay), and that
//     address's next check waits for it too: reconnecting gains nothing;
//   - after max_failures failures within failure_window the address is
//     refused without a check for lockout seconds ("454 4.7.0", logged);
//   - the argon2id work an unauthenticated client can cause is bounded: one
//     thread does every check, one at a time per address, taking addresses
//     in turn (round-robin), and at most kMaxWaiting attempts may wait per
//     address (more: refused at once). A member logging in from another
//     address waits for at most one check per address that is guessing.
//     Up to kMaxClients addresses are remembered; beyond, a new one is
//     refused until some are forgotten (failure_window after their last).
// Successes are answered when their check ends and do not clear failures
// (one known password must not reset the count for guessing others).
// Thread-safe; `done` runs on the checking thread, or at once on the
// caller's when refused without a check.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/members.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace rapport::daemon {

using LogFn = std::function<void(const std::string&)>;

class Logins {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxWaiting = 4;      // attempts queued per address
    static constexpr std::size_t kMaxClients = 10000;  // addresses remembered (failures, waiting)

    struct Result {
        enum class Outcome { ok, wrong, refused } outcome = Outcome::wrong;
        std::string account;        // ok: the name to keep the mail under
        Clock::time_point answer_at; // wrong: answer no sooner than this
        std::string reply;          // refused: the SMTP reply to send
    };

    // `users`: [auth] users, name -> password or argon2id hash; plain
    // passwords in it are replaced by their hashes. `members` may be null.
    Logins(std::map<std::string, std::string>& users, const Members* members, AuthLimits limits, LogFn log);
    ~Logins();
    Logins(const Logins&) = delete;
    Logins& operator=(const Logins&) = delete;

    // Someone could log in (AUTH is offered only then).
    bool any() const;
    void check(const std::string& client, std::string user, std::string pass, std::function<void(Result)> done);
    // How many failures `client` has within failure_window (tests, logs).
    std::size_t failures(const std::string& client);

private:
    struct Attempt {
        std::string user, pass;
        std::function<void(Result)> done;
        Clock::time_point asked;
    };
    struct Client {
        std::deque<Attempt> waiting;
        bool checking = false;
        std::deque<Clock::time_point> failures; // within failure_window
        Clock::time_point next_check{};          // no check before this (after a failure)
        Clock::time_point locked_until{};
    };
    void worker();
    std::optional<std::string> verify(const std::string& user, const std::string& pass) const;
    void forget_old(Client& c, Clock::time_point now) const;

    std::map<std::string, std::string> hashes_; // config users
    const Members* members_;
    AuthLimits lim_;
    LogFn log_;
    std::string dummy_hash_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, Client> clients_;
    std::string last_served_; // round-robin: the next address after this one
    bool stop_ = false;
    std::thread thread_;
};

} // namespace rapport::daemon
