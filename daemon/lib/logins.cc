// logins.cc - see logins.h.

#include "daemon/lib/logins.h"

#include <algorithm>

namespace rapport::daemon {
namespace {

bool is_hash(const std::string& s) { return s.rfind("$argon2id$", 0) == 0; }

std::string minutes(std::chrono::seconds s) {
    auto m = (s.count() + 59) / 60;
    return std::to_string(m) + (m == 1 ? " minute" : " minutes");
}

} // namespace

Logins::Logins(std::map<std::string, std::string>& users, const Members* members, AuthLimits limits, LogFn log)
    : members_(members), lim_(limits), log_(std::move(log)) {
    for (auto& [name, secret] : users) {
        if (!is_hash(secret)) secret = hash_password(secret); // the plain password is not kept
        hashes_[name] = secret;
    }
    dummy_hash_ = hash_password("no such user, no such password");
    thread_ = std::thread([this] { worker(); });
}

Logins::~Logins() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

bool Logins::any() const { return !hashes_.empty() || (members_ && !members_->empty()); }

void Logins::forget_old(Client& c, Clock::time_point now) const {
    auto window = std::chrono::seconds(lim_.failure_window);
    while (!c.failures.empty() && now - c.failures.front() > window) c.failures.pop_front();
}

std::size_t Logins::failures(const std::string& client) {
    std::lock_guard lk(mu_);
    auto it = clients_.find(client);
    if (it == clients_.end()) return 0;
    forget_old(it->second, Clock::now());
    return it->second.failures.size();
}

void Logins::check(const std::string& client, std::string user, std::string pass, std::function<void(Result)> done) {
    Result refused;
    refused.outcome = Result::Outcome::refused;
    {
        std::lock_guard lk(mu_);
        auto now = Clock::now();
        if (clients_.size() >= kMaxClients && !clients_.count(client)) {
            refused.reply = "454 4.7.0 Error: too many logins at once; try again later\r\n";
            done(std::move(refused));
            return;
        }
        Client& c = clients_[client];
        if (c.locked_until > now) {
            refused.reply = "454 4.7.0 Error: too many failed logins from your address; try again in " +
                            minutes(std::chrono::duration_cast<std::chrono::seconds>(c.locked_until - now)) + "\r\n";
        } else if (c.waiting.size() >= kMaxWaiting) {
            refused.reply = "454 4.7.0 Error: too many logins at once from your address; try again later\r\n";
        } else {
            c.waiting.push_back({std::move(user), std::move(pass), std::move(done), now});
            cv_.notify_all();
            return;
        }
    }
    done(std::move(refused));
}

std::optional<std::string> Logins::verify(const std::string& user, const std::string& pass) const {
    // The same argon2id work on every path (see logins.h).
    if (auto it = hashes_.find(user); it != hashes_.end()) {
        if (password_matches(it->second, pass)) return user;
        return std::nullopt;
    }
    if (members_ && members_->find(user)) {
        if (auto m = members_->verify(user, pass)) return m->name;
        return std::nullopt;
    }
    password_matches(dummy_hash_, pass);
    return std::nullopt;
}

void Logins::worker() {
    std::unique_lock lk(mu_);
    while (!stop_) {
        // The next address in turn with an attempt waiting and allowed now.
        auto now = Clock::now();
        auto first = clients_.upper_bound(last_served_);
        std::map<std::string, Client>::iterator pick = clients_.end();
        Clock::time_point wake = Clock::time_point::max();
        for (std::size_t n = 0, total = clients_.size(); n < total; ++n, ++first) {
            if (first == clients_.end()) first = clients_.begin();
            Client& c = first->second;
            if (c.waiting.empty() || c.checking) continue;
            if (c.next_check > now) {
                wake = std::min(wake, c.next_check);
                continue;
            }
            pick = first;
            break;
        }
        if (pick == clients_.end()) {
            // Forget addresses with nothing to remember (bounded memory).
            for (auto it = clients_.begin(); it != clients_.end();) {
                forget_old(it->second, now);
                bool idle = it->second.waiting.empty() && !it->second.checking && it->second.failures.empty() &&
                            it->second.locked_until <= now;
                it = idle ? clients_.erase(it) : std::next(it);
            }
            if (wake == Clock::time_point::max()) cv_.wait(lk);
            else cv_.wait_until(lk, wake);
            continue;
        }
        std::string addr = pick->first;
        last_served_ = addr;
        Attempt a = std::move(pick->second.waiting.front());
        pick->second.waiting.pop_front();
        pick->second.checking = true;
        lk.unlock();
        auto account = verify(a.user, a.pass);
        lk.lock();
        Client& c = clients_[addr];
        c.checking = false;
        now = Clock::now();
        Result r;
        std::vector<Attempt> dropped;
        if (account) {
            r.outcome = Result::Outcome::ok;
            r.account = std::move(*account);
        } else {
            forget_old(c, now);
            c.failures.push_back(now);
            auto k = c.failures.size();
            auto delay = std::chrono::seconds(lim_.failure_delay);
            for (std::size_t i = 1; i < k && delay < std::chrono::seconds(lim_.max_failure_delay); ++i) delay *= 2;
            delay = std::min(delay, std::chrono::seconds(std::max(lim_.max_failure_delay, lim_.failure_delay)));
            r.answer_at = std::max(now, a.asked + delay);
            c.next_check = r.answer_at;
            log_("authentication failed from " + addr + " (" + std::to_string(k) + " in " +
                 std::to_string(lim_.failure_window) + " s)"); // never the name or password tried
            if (k >= lim_.max_failures) {
                c.locked_until = now + std::chrono::seconds(lim_.lockout);
                log_("warning: " + std::to_string(k) + " failed logins from " + addr + " within " +
                     std::to_string(lim_.failure_window) + " s; refusing its logins for " +
                     std::to_string(lim_.lockout) + " s");
                for (auto& w : c.waiting) dropped.push_back(std::move(w));
                c.waiting.clear();
            }
        }
        lk.unlock();
        a.done(std::move(r));
        for (auto& w : dropped) {
            Result no;
            no.outcome = Result::Outcome::refused;
            no.reply = "454 4.7.0 Error: too many failed logins from your address; try again in " +
                       minutes(std::chrono::seconds(lim_.lockout)) + "\r\n";
            w.done(std::move(no));
        }
        lk.lock();
    }
    // Stopping: nobody waits for an answer that never comes.
    std::vector<Attempt> left;
    for (auto& [addr, c] : clients_)
        for (auto& w : c.waiting) left.push_back(std::move(w));
    clients_.clear();
    lk.unlock();
    for (auto& w : left) {
        Result no;
        no.outcome = Result::Outcome::refused;
        no.reply = "421 4.3.2 Error: shutting down\r\n";
        w.done(std::move(no));
    }
}

} // namespace rapport::daemon
