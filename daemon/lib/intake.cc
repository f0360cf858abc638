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

// Steps 2 and 3 of intake.h for a message already on stable storage.
std::string Intake::accept(const std::string& id, const Envelope& env, std::string_view data, bool record) {
    Judgement j = verdict_.judge(env, data, record);
    if (!j.error.empty()) log_("warning: " + id + ": checker failed, relaying unchecked: " + j.error);
    std::string rules;
    for (const auto& f : j.findings) rules += (rules.empty() ? "" : ",") + f.rule;
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    std::string reply;
    if (j.action == policies::Action::reject) {
        // Never acknowledged, so nothing is owed: the row stays for the report.
        q_.remove_spool(id);
        q_.insert(id, env, j.info, Status::rejected, 0);
        reply = reject_reply(j.findings);
    } else if (j.action == policies::Action::hold) {
        q_.insert(id, env, j.info, Status::held, 0);
        reply = "250 2.0.0 Ok: queued as " + id + "\r\n";
    } else if (cfg_.capture() || !relay_) {
        q_.insert(id, env, j.info, Status::captured, 0);
        reply = "250 2.0.0 Ok: queued as " + id + "\r\n";
    } else {
        q_.insert(id, env, j.info, Status::queued, now);
        relay_->schedule(id, now);
        reply = "250 2.0.0 Ok: queued as " + id + "\r\n";
    }
    log_("message " + id + " from=<" + env.mail_from + "> rcpts=" + std::to_string(env.rcpts.size()) +
         " size=" + std::to_string(data.size()) + " action=" + j.info.action +
         (rules.empty() ? "" : " rules=" + rules));
    return reply;
}

void Intake::submit(Envelope env, std::string data, std::function<void(std::string)> done) {
    boost::asio::post(pool_, [this, env = std::move(env), data = std::move(data), done = std::move(done)]() {
        std::string id = q_.new_id();
        try {
            q_.write_spool(id, env, data);
        } catch (const std::exception& e) {
            log_("warning: " + id + ": cannot spool: " + e.what());
            done("451 4.3.0 Requested action aborted: local storage error, try again later\r\n");
            return;
        }
        std::string reply;
        try {
            reply = accept(id, env, data, true);
        } catch (const std::exception& e) {
            // The file is safe on disk; recovery at the next start routes it.
            // Tell the client to retry rather than risk a silent loss.
            log_("warning: " + id + ": cannot record state: " + e.what());
            reply = "451 4.3.0 Requested action aborted: local queue error, try again later\r\n";
        }
        done(std::move(reply));
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
                log_("warning: recover " + id + ": unreadable spool file left in place");
                continue;
            }
            // Unknown whether it was recorded before the crash: do not record
            // twice (a missing history entry costs less than a false alarm).
            accept(id, msg->env, msg->data, false);
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
