// verdict.cc - see verdict.h.

#include "daemon/lib/verdict.h"

#include "daemon/lib/background.h"
#include "daemon/lib/log.h"
#include "daemon/lib/smtp_protocol.h"
#include "mime/message.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <thread>


namespace rapport::daemon {

using policies::Action;

struct VerdictStage::Lane {
    Lane(const policies::Policy& p, const std::string& path) : history(path), checkers(p, history) {
        // Up to 4 records are written in one transaction (history.h); the
        // lane flushes whenever it runs out of work, so only a burst leaves
        // records unwritten, and a crash loses at most those (the mail
        // itself is spooled; the history is coaching memory).
        history.set_write_behind(kWriteBehind);
    }
    static constexpr std::size_t kWriteBehind = 4;
    struct Job {
        Envelope env;
        std::string data;
        bool record;
        std::function<void(Judgement, Envelope, std::string)> then;
        std::function<std::string()> load;
    };
    std::mutex check_mu; // one check at a time on this lane's History
    policies::History history;
    policies::GroupCheckers checkers;  // one per member group, under check_mu
    unsigned policy_generation = 0;    // of the policy the checkers hold (under check_mu)
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> jobs;
    bool stopping = false;
    std::thread thread;
};

void VerdictStage::set_policy(const policies::Policy& policy) {
    {
        std::lock_guard lk(policy_mu_);
        next_policy_ = std::make_shared<const policies::Policy>(policy);
        ++policy_generation_;
    }
    can_reject_ = policy.can_reject();
}

VerdictStage::VerdictStage(const policies::Policy& policy, const std::string& history_path, unsigned lanes) {
    can_reject_ = policy.can_reject();
    for (unsigned i = 0; i < std::max(1u, lanes); ++i) lanes_.push_back(std::make_unique<Lane>(policy, history_path));
    for (auto& lp : lanes_) {
        Lane* lane = lp.get();
        lane->thread = std::thread([this, lane] {
            // Checks are background work once the message is on disk: let the
            // network and spool threads (the 250s) preempt them. Linux applies
            // nice per thread.
            lower_this_threads_priority();
            std::unique_lock lk(lane->mu);
            for (;;) {
                lane->cv.wait(lk, [&] { return lane->stopping || !lane->jobs.empty(); });
                if (lane->jobs.empty()) return; // stopping and drained
                Lane::Job job = std::move(lane->jobs.front());
                lane->jobs.pop_front();
                lk.unlock();
                if (job.load) job.data = job.load();
                Judgement j = run(*lane, job.env, job.data, job.record);
                job.then(std::move(j), std::move(job.env), std::move(job.data));
                lk.lock();
                if (lane->jobs.empty()) { // idle: write what is queued, so other connections see it
                    lk.unlock();
                    try {
                        std::lock_guard ck(lane->check_mu);
                        lane->history.flush();
                    } catch (const std::exception& e) {
                        log_line(std::string("warning: history: ") + e.what());
                    }
                    lk.lock();
                }
            }
        });
    }
}

VerdictStage::~VerdictStage() { stop(); }

void VerdictStage::stop() {
    for (auto& l : lanes_) {
        {
            std::lock_guard lk(l->mu);
            l->stopping = true;
        }
        l->cv.notify_all();
    }
    for (auto& l : lanes_)
        if (l->thread.joinable()) l->thread.join();
}

VerdictStage::Lane& VerdictStage::lane_for(const Envelope& env) {
    return *lanes_[std::hash<std::string>{}(account_of(env)) % lanes_.size()];
}

void VerdictStage::judge_async(Envelope env, std::string data, bool record,
                               std::function<void(Judgement, Envelope, std::string)> then,
                               std::function<std::string()> load) {
    Lane& l = lane_for(env);
    {
        std::lock_guard lk(l.mu);
        l.jobs.push_back({std::move(env), std::move(data), record, std::move(then), std::move(load)});
    }
    l.cv.notify_one();
}

Judgement VerdictStage::judge(const Envelope& env, std::string_view data, bool record) {
    return run(lane_for(env), env, data, record);
}

std::string VerdictStage::account_of(const Envelope& env) {
    if (!env.account.empty()) return env.account;
    std::string a = env.mail_from;
    std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return a;
}

Judgement VerdictStage::run(Lane& lane, const Envelope& env, std::string_view data, bool record) {
    Judgement j;
    j.info.size = data.size();
    try {
        mime::Message msg = mime::parse(data);
        j.info.subject = msg.subject;
        if (!msg.from.empty()) j.info.header_from = msg.from.front().address;
        for (const auto& a : msg.to) j.info.header_to += (j.info.header_to.empty() ? "" : ", ") + a.address;
        j.info.message_id = msg.message_id;

        policies::CheckContext ctx;
        ctx.account = account_of(env);
        ctx.envelope_recipients = env.rcpts;
        ctx.now = static_cast<std::int64_t>(std::time(nullptr));
        // A member's group picks their rules (job club); others get the main ones.
        const std::string group = env.account.empty() || !group_of_ ? std::string() : group_of_(env.account);
        policies::Verdict v;
        {
            std::lock_guard lk(lane.check_mu);
            if (lane.policy_generation != policy_generation_.load()) {
                std::lock_guard plk(policy_mu_);
                lane.checkers.set_policy(*next_policy_);
                lane.policy_generation = policy_generation_.load();
            }
            policies::Checker& checker_ = lane.checkers.for_group(group);
            if (record && can_reject_) {
                ctx.record = false;
                v = checker_.check(msg, ctx);
                if (v.action != Action::reject) {
                    ctx.record = true;
                    v = checker_.check(msg, ctx);
                }
            } else {
                ctx.record = record;
                v = checker_.check(msg, ctx);
            }
        }
        j.action = v.action;
        j.findings = std::move(v.findings);
        j.application = v.job_seeking && !v.reply;
        j.recipients = std::move(v.recipients);
        if (!msg.in_reply_to.empty()) j.refs.push_back(msg.in_reply_to);
        for (const auto& r : msg.references)
            if (r != msg.in_reply_to) j.refs.push_back(r);
        for (const auto* list : {&msg.to, &msg.cc})
            for (const auto& a : *list)
                if (!a.name.empty()) {
                    std::string address = a.address;
                    for (auto& c : address) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                    j.names.emplace(std::move(address), a.name);
                }
    } catch (const std::exception& e) {
        j.error = e.what();
        j.action = Action::off;
        j.findings.clear();
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : j.findings)
        arr.push_back({{"rule", f.rule}, {"message", f.message}, {"action", policies::to_string(f.action)}});
    j.info.findings_json = arr.dump();
    j.info.action = std::string(policies::verdict_name(j.action));
    return j;
}

std::string reject_reply(const std::vector<policies::Finding>& findings) {
    std::vector<std::string> lines{"Rapport did not send this message:"};
    for (const auto& f : findings) {
        if (f.action != Action::reject && f.action != Action::hold && f.action != Action::warn) continue;
        std::string text = f.message + " [" + f.rule + "]";
        // Wrap at word boundaries near 400 octets.
        while (text.size() > 400) {
            auto cut = text.rfind(' ', 400);
            if (cut == std::string::npos || cut == 0) cut = 400;
            lines.push_back(text.substr(0, cut));
            text = text.substr(cut + (text[cut] == ' ' ? 1 : 0));
        }
        lines.push_back(text);
    }
    return smtp::multiline_reply(550, "5.7.1", lines);
}

} // namespace rapport::daemon
