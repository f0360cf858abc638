// intake.cc - see intake.h.

#include "daemon/lib/intake.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>

namespace rapport::daemon {

namespace {
constexpr std::chrono::seconds kMaxHealPause{30};
} // namespace

Intake::Intake(const Config& cfg, Queue& q, VerdictStage& verdict, Relay* relay, Holds& holds, Outcomes* outcomes,
               LogFn log)
    : cfg_(cfg), q_(q), verdict_(verdict), relay_(relay), holds_(holds), outcomes_(outcomes), log_(std::move(log)),
      pool_(std::max(1u, cfg.spool_threads)) {
    resumed_handle_ = q_.on_writes_resumed([this] {
        {
            std::lock_guard lk(heal_mu_);
            heal_now_ = true;
        }
        heal_cv_.notify_all();
    });
    healer_ = std::thread([this] { heal(); });
}

Intake::~Intake() {
    stop();
    q_.forget_writes_resumed(resumed_handle_);
    {
        std::lock_guard lk(heal_mu_);
        heal_stop_ = true;
    }
    heal_cv_.notify_all();
    healer_.join();
}

void Intake::stop() { pool_.join(); }

namespace {
std::int64_t us_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
}
const char* kOk = "250 2.0.0 Ok: queued as ";
const char* kNoRoom = "451 4.3.1 Insufficient system storage, try again later\r\n";

// The one reply to a message whose reply waits for its verdict: given by
// the verdict, or by the deadline if that comes first (see submit()).
class Reply {
public:
    explicit Reply(std::function<void(std::string)> done) : done_(std::move(done)) {}
    // True for the first caller only, who must then send().
    bool take() { return !taken_.exchange(true); }
    void send(std::string reply) { done_(std::move(reply)); }

private:
    std::function<void(std::string)> done_;
    std::atomic<bool> taken_{false};
};
} // namespace

std::string Intake::route(const std::string& id, const Envelope& env, std::string_view data, const Judgement& j,
                          std::int64_t spool_us, std::int64_t check_us) {
    std::string rules;
    for (const auto& f : j.findings) rules += (rules.empty() ? "" : ",") + f.rule;
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    std::string reply = kOk + id + "\r\n";
    // The insert is the commit point: nothing before it changes state, so
    // when it throws the message can be routed again from the start.
    Status status;
    bool confirmed = false;
    if (j.action == policies::Action::reject) {
        status = Status::rejected;
        q_.insert(id, env, j.info, status, 0);
        // Never acknowledged, so nothing is owed: the row stays for the report.
        q_.remove_spool(id);
        reply = reject_reply(j.findings);
    } else if (j.action == policies::Action::hold && !(confirmed = holds_.confirmed(id, data, j, env.account))) {
        status = Status::held;
        holds_.hold(id, env, j);
    } else if (cfg_.capture() || !relay_) {
        status = Status::captured;
        q_.insert(id, env, j.info, status, 0);
    } else {
        status = Status::queued;
        q_.insert(id, env, j.info, status, now);
        relay_->schedule(id, now);
    }
    if (confirmed) q_.add_event(id, "confirmed"); // once the row exists: a shared store files it under its sender
    if (outcomes_) outcomes_->routed(id, env, j, status);
    if (!j.error.empty())
        log_("warning: " + id + ": checker failed; " +
             (status == Status::queued ? "relaying it unchecked" : "kept unchecked (capture mode: nothing is relayed)") +
             ": " + j.error);
    log_("message " + id + " from=<" + env.mail_from + "> rcpts=" + std::to_string(env.rcpts.size()) +
         " size=" + std::to_string(data.size()) + " action=" + j.info.action +
         (rules.empty() ? "" : " rules=" + rules) + " spool_us=" + std::to_string(spool_us) +
         " check_us=" + std::to_string(check_us));
    return reply;
}

void Intake::submit(Envelope env, std::string data, std::function<void(std::string)> done) {
    boost::asio::post(pool_, [this, env = std::move(env), data = std::move(data), done = std::move(done)]() mutable {
        // A message accepted now could not be recorded: the client keeps it.
        if (!accepting()) {
            done(kNoRoom);
            return;
        }
        std::string id;
        auto t0 = std::chrono::steady_clock::now();
        try {
            id = q_.spool_new(env, data);
        } catch (const std::exception& e) {
            log_(std::string("warning: cannot spool a message from <") + env.mail_from + ">: " + e.what());
            done("451 4.3.0 Requested action aborted: local storage error, try again later\r\n");
            return;
        }
        auto spool_us = us_since(t0);
        bool early = !verdict_.can_reject();
        {
            std::unique_lock lk(backlog_mu_);
            backlog_cv_.wait(lk, [&] { return backlog_ < std::max<std::size_t>(1, cfg_.max_backlog); });
            ++backlog_;
        }
        std::function<std::string()> load;
        if (early) {
            done(kOk + id + "\r\n"); // on stable storage: nothing can be lost now
            // Answered: the session (and its connection slot) need not live
            // until the verdict, which can wait long for a stalled store.
            done = nullptr;
            std::string().swap(data);
            load = [this, id] {
                auto m = q_.read_spool(id);
                return m ? std::move(m->data) : std::string();
            };
        }
        // A reply that waits for the verdict waits at most
        // [smtp] verdict_timeout: a store that hangs instead of failing (a
        // primary waiting for a synchronous replica that is gone) would
        // otherwise hold the client until its own timeout, and its retry
        // would send the message twice. The message is spooled, so it is
        // acknowledged then, and its verdict follows as for early mail.
        std::shared_ptr<Reply> reply_once;
        std::shared_ptr<boost::asio::steady_timer> deadline;
        if (!early) {
            reply_once = std::make_shared<Reply>(std::move(done));
            deadline = std::make_shared<boost::asio::steady_timer>(pool_, std::chrono::seconds(cfg_.limits.verdict_timeout));
            deadline->async_wait([this, id, reply_once](const boost::system::error_code& ec) {
                if (ec || !reply_once->take()) return;
                log_("warning: " + id + ": no verdict within " + std::to_string(cfg_.limits.verdict_timeout) +
                     " s (smtp.verdict_timeout); answered 250, judged when the checks can run");
                reply_once->send(kOk + id + "\r\n");
            });
        }
        auto t1 = std::chrono::steady_clock::now();
        verdict_.judge_async(std::move(env), std::move(data), VerdictStage::Record::unless_rejected,
                             [this, id, early_reply = early, reply_once, deadline, spool_us, t1](
                                 Judgement j, Envelope env, std::string data) {
                                 if (deadline) deadline->cancel();
                                 // Acknowledged already: before the checks, or by the deadline.
                                 const bool early = early_reply || !reply_once->take();
                                 {
                                     std::lock_guard lk(backlog_mu_);
                                     --backlog_;
                                 }
                                 backlog_cv_.notify_one();
                                 if (j.unavailable) {
                                     // Not judged: kept until the store is back. The
                                     // spool has it, so the client hears 250 now.
                                     strand_unjudged(id, std::move(env), j.error);
                                     if (!early) reply_once->send(kOk + id + "\r\n");
                                     return;
                                 }
                                 if (early && j.action == policies::Action::reject) {
                                     // Acknowledged before its verdict (a SIGHUP brought a
                                     // reject rule, or the deadline passed): it cannot be
                                     // refused any more, so it waits for the sender instead.
                                     j.action = policies::Action::hold;
                                     j.info.action = std::string(policies::verdict_name(j.action));
                                 }
                                 std::string reply;
                                 try {
                                     reply = route(id, env, data, j, spool_us, us_since(t1));
                                 } catch (const std::exception& e) {
                                     auto* se = dynamic_cast<const StorageError*>(&e);
                                     if (!early && se && se->unavailable) {
                                         // The shared store is down, the local spool has it:
                                         // acknowledged now (refused, for a reject verdict),
                                         // recorded and routed when the store is back.
                                         reply = j.action == policies::Action::reject ? reject_reply(j.findings)
                                                                                      : kOk + id + "\r\n";
                                         strand({id, std::move(env), std::move(j)}, e);
                                     } else if (early) {
                                         // Acknowledged and on disk: finished once writes succeed.
                                         strand({id, std::move(env), std::move(j)}, e);
                                     } else {
                                         // Not acknowledged: the client keeps it and tries
                                         // again, so this copy must go (or it would be sent
                                         // twice).
                                         log_("warning: " + id + ": cannot record state: " + e.what() +
                                              "; answered 451, spool copy removed");
                                         q_.remove_spool(id);
                                         reply = "451 4.3.0 Requested action aborted: local queue error, try again "
                                                 "later\r\n";
                                     }
                                 }
                                 if (!early) reply_once->send(std::move(reply));
                             },
                             std::move(load));
    });
}

void Intake::strand(Stranded s, const std::exception& why) {
    auto* se = dynamic_cast<const StorageError*>(&why);
    if (se && se->unavailable)
        log_("warning: " + s.id + ": cannot record state: " + why.what() + "; the store is unavailable: kept in the "
             "spool, recorded and routed when it is back");
    else
        log_("warning: " + s.id + ": cannot record state: " + why.what() + "; " + (se ? se->kind() : "error") +
             ": kept in the spool, recorded and sent on once writes succeed; new mail gets 4xx meanwhile");
    {
        std::lock_guard lk(heal_mu_);
        stranded_.push_back(std::move(s));
    }
    heal_cv_.notify_all();
}

void Intake::strand_unjudged(const std::string& id, Envelope env, const std::string& why) {
    log_("warning: " + id + ": not judged: " + why + "; the store is unavailable: kept in the spool, judged and "
         "routed when it is back");
    {
        std::lock_guard lk(heal_mu_);
        stranded_.push_back({id, std::move(env), Judgement{}, false});
    }
    heal_cv_.notify_all();
}

void Intake::wake() {
    {
        std::lock_guard lk(heal_mu_);
        heal_now_ = true;
    }
    heal_cv_.notify_all();
}

std::size_t Intake::stranded() {
    std::lock_guard lk(heal_mu_);
    return stranded_.size();
}

void Intake::heal() {
    std::chrono::seconds pause{1};
    std::unique_lock lk(heal_mu_);
    while (!heal_stop_) {
        if (stranded_.empty() && !q_.writes_failing()) {
            pause = std::chrono::seconds(1);
            heal_cv_.wait_for(lk, std::chrono::seconds(5)); // writes_failing() has no wake-up of its own
            continue;
        }
        if (!heal_now_) heal_cv_.wait_for(lk, pause, [&] { return heal_stop_ || heal_now_; });
        heal_now_ = false;
        if (heal_stop_) break;
        std::vector<Stranded> todo;
        todo.swap(stranded_);
        lk.unlock();
        std::vector<Stranded> left;
        std::size_t routed = 0;
        bool writable = true;
        std::size_t judged = 0;
        bool store_down = false;
        for (auto& s : todo) {
            if (!writable || store_down) {
                left.push_back(std::move(s));
                continue;
            }
            std::optional<SpooledMessage> msg;
            try {
                msg = q_.read_spool(s.id);
            } catch (const StorageError&) { // not here, and the store's copy out of reach
                store_down = true;
                left.push_back(std::move(s));
                continue;
            }
            if (!msg) {
                log_("panic: " + s.id + ": stranded message missing from the spool");
                continue;
            }
            if (!s.judged) {
                Judgement j = verdict_.judge(s.env, msg->data, VerdictStage::Record::unless_rejected);
                if (j.unavailable) {
                    store_down = true;
                    left.push_back(std::move(s));
                    continue;
                }
                if (j.action == policies::Action::reject) { // it had its 250: held, not refused
                    j.action = policies::Action::hold;
                    j.info.action = std::string(policies::verdict_name(j.action));
                }
                s.judgement = std::move(j);
                s.judged = true;
                ++judged;
            }
            try {
                route(s.id, s.env, msg->data, s.judgement, 0, 0);
                ++routed;
            } catch (const std::exception&) {
                writable = false;
                left.push_back(std::move(s));
            }
        }
        if (judged)
            log_("store: back; " + std::to_string(judged) + " waiting messages judged" +
                 (store_down ? ", more waiting" : ""));
        if (todo.empty()) writable = q_.probe_write();
        if (routed)
            log_("storage: writes succeed again; " + std::to_string(routed) + " accepted messages recorded and routed");
        else if (writable && todo.empty())
            log_("storage: writes succeed again; accepting mail");
        lk.lock();
        for (auto& s : left) stranded_.push_back(std::move(s));
        pause = writable && !store_down ? std::chrono::seconds(1) : std::min(pause * 2, kMaxHealPause);
    }
}

void Intake::recover() {
    std::size_t n = 0, routed = 0;
    for (const auto& id : q_.spool_ids()) {
        ++n;
        auto row = q_.row(id);
        if (!row) {
            auto msg = q_.read_spool(id);
            if (!msg) {
                // Cut short (or garbled) before any row existed: it was never
                // acknowledged, so the client still has it and nothing is owed.
                log_("warning: recover " + id + ": incomplete spool file removed (never acknowledged)");
                q_.remove_spool(id);
                continue;
            }
            // Unknown whether it was recorded before the crash: do not record
            // twice (a missing history entry costs less than a false alarm).
            Judgement j = verdict_.judge(msg->env, msg->data, VerdictStage::Record::no);
            if (j.unavailable) {
                strand_unjudged(id, msg->env, j.error);
                continue;
            }
            try {
                route(id, msg->env, msg->data, j, 0, 0);
            } catch (const StorageError& e) {
                strand({id, msg->env, std::move(j)}, e); // a full disk at start: finished later
            }
            ++routed;
            continue;
        }
        switch (row->status) {
        case Status::relayed:
        case Status::failed:
        case Status::rejected:
        case Status::dropped:
            q_.remove_spool(id); // finished; the unlink did not survive the crash
            break;
        default:
            // A shared store has the copy, committed with the row: the local
            // one outlived a crash between the two.
            if (q_.shared()) q_.remove_spool(id);
            break; // queued: the relay loads it; held/captured: kept
        }
    }
    log_("recovered " + std::to_string(n) + " spool files (" + std::to_string(routed) + " re-judged), " +
         std::to_string(q_.rows_with_status(Status::queued).size()) + " to relay, " +
         std::to_string(q_.rows_with_status(Status::held).size()) + " held");
}

} // namespace rapport::daemon
