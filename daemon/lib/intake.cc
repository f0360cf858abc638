// intake.cc - see intake.h.

#include "daemon/lib/intake.h"

#include <boost/asio/post.hpp>

#include <chrono>
#include <ctime>

namespace rapport::daemon {

Intake::Intake(const Config& cfg, Queue& q, VerdictStage& verdict, Relay* relay, LogFn log)
    : cfg_(cfg), q_(q), verdict_(verdict), relay_(relay), log_(std::move(log)),
      pool_(std::max(1u, cfg.spool_threads)) {}

Intake::~Intake() { stop(); }

void Intake::stop() { pool_.join(); }

namespace {
std::int64_t us_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
}
const char* kOk = "250 2.0.0 Ok: queued as ";
} // namespace

std::string Intake::route(const std::string& id, const Envelope& env, std::string_view data, const Judgement& j,
                          std::int64_t spool_us, std::int64_t check_us) {
    if (!j.error.empty()) log_("warning: " + id + ": checker failed, relaying unchecked: " + j.error);
    std::string rules;
    for (const auto& f : j.findings) rules += (rules.empty() ? "" : ",") + f.rule;
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    std::string reply = kOk + id + "\r\n";
    Status routed;
    if (j.action == policies::Action::reject) {
        // Never acknowledged, so nothing is owed: the row stays for the report.
        q_.remove_spool(id);
        q_.insert(id, env, j.info, routed = Status::rejected, 0);
        reply = reject_reply(j.findings);
    } else if (j.action == policies::Action::hold && !(confirmed && confirmed(id, env, data, j))) {
        q_.insert(id, env, j.info, routed = Status::held, 0);
        if (on_held) on_held(id, env, j); // issue 5: log line, notice mail
    } else if (cfg_.capture() || !relay_) {
        q_.insert(id, env, j.info, routed = Status::captured, 0);
    } else {
        q_.insert(id, env, j.info, routed = Status::queued, now);
        relay_->schedule(id, now);
    }
    if (on_routed) on_routed(id, env, j, routed);
    log_("message " + id + " from=<" + env.mail_from + "> rcpts=" + std::to_string(env.rcpts.size()) +
         " size=" + std::to_string(data.size()) + " action=" + j.info.action +
         (rules.empty() ? "" : " rules=" + rules) + " spool_us=" + std::to_string(spool_us) +
         " check_us=" + std::to_string(check_us));
    return reply;
}

void Intake::submit(Envelope env, std::string data, std::function<void(std::string)> done) {
    boost::asio::post(pool_, [this, env = std::move(env), data = std::move(data), done = std::move(done)]() mutable {
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
            std::string().swap(data);
            load = [this, id] {
                auto m = q_.read_spool(id);
                return m ? std::move(m->data) : std::string();
            };
        }
        auto t1 = std::chrono::steady_clock::now();
        verdict_.judge_async(std::move(env), std::move(data), true,
                             [this, id, early, done = std::move(done), spool_us, t1](Judgement j, Envelope env,
                                                                                     std::string data) {
                                 {
                                     std::lock_guard lk(backlog_mu_);
                                     --backlog_;
                                 }
                                 backlog_cv_.notify_one();
                                 if (early && j.action == policies::Action::reject) {
                                     // A SIGHUP brought a reject rule between the 250 and
                                     // the check: acknowledged mail cannot be refused any
                                     // more, so it waits for the sender instead.
                                     j.action = policies::Action::hold;
                                     j.info.action = std::string(policies::verdict_name(j.action));
                                 }
                                 std::string reply;
                                 try {
                                     reply = route(id, env, data, j, spool_us, us_since(t1));
                                 } catch (const std::exception& e) {
                                     // The file is safe on disk; recovery routes it at the next
                                     // start. Unacknowledged: ask the client to retry.
                                     log_("warning: " + id + ": cannot record state: " + e.what());
                                     reply = "451 4.3.0 Requested action aborted: local queue error, try again later\r\n";
                                 }
                                 if (!early) done(std::move(reply));
                             },
                             std::move(load));
    });
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
            route(id, msg->env, msg->data, verdict_.judge(msg->env, msg->data, false), 0, 0);
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
            break; // queued: the relay loads it; held/captured: kept
        }
    }
    log_("recovered " + std::to_string(n) + " spool files (" + std::to_string(routed) + " re-judged), " +
         std::to_string(q_.rows_with_status(Status::queued).size()) + " to relay, " +
         std::to_string(q_.rows_with_status(Status::held).size()) + " held");
}

} // namespace rapport::daemon
