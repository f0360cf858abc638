// verdict.cc - see verdict.h.

#include "daemon/lib/verdict.h"

#include "common/strings.h"

#include "daemon/lib/background.h"
#include "daemon/lib/i18n.h"
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
    Lane(const policies::Policy& p, std::unique_ptr<policies::History> h)
        : history_owner(std::move(h)), history(*history_owner), checkers(p, history) {
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
        Record record;
        std::function<void(Judgement, Envelope, std::string)> then;
        std::function<std::string()> load;
    };
    std::mutex check_mu; // one check at a time on this lane's History
    std::unique_ptr<policies::History> history_owner;
    policies::History& history;
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

VerdictStage::VerdictStage(const policies::Policy& policy, const std::string& history_path, unsigned lanes)
    : VerdictStage(policy, [history_path] { return std::make_unique<policies::SqliteHistory>(history_path); }, lanes) {}

VerdictStage::VerdictStage(const policies::Policy& policy, const HistoryFactory& open_history, unsigned lanes) {
    can_reject_ = policy.can_reject();
    for (unsigned i = 0; i < std::max(1u, lanes); ++i) lanes_.push_back(std::make_unique<Lane>(policy, open_history()));
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
    for (auto& l : lanes_) {
        if (l->thread.joinable()) l->thread.join();
        std::lock_guard ck(l->check_mu);
        try {
            l->history.flush(); // what the last synchronous judgements recorded
        } catch (const std::exception& e) {
            log_line(std::string("warning: history: ") + e.what());
        }
    }
}

VerdictStage::Lane& VerdictStage::lane_for(const std::string& sender) {
    return *lanes_[std::hash<std::string>{}(common::lower(sender)) % lanes_.size()];
}

namespace {
// The lane key of proxied mail: known before the message is parsed (its
// bytes may still be on disk). Mail clients put the From address in MAIL
// FROM, so a sender's proxied mail and drafts meet on one lane.
const std::string& envelope_sender(const Envelope& env) { return env.account.empty() ? env.mail_from : env.account; }

const std::string& draft_sender(const mime::Message& msg, const policies::CheckContext& ctx) {
    static const std::string none;
    if (!ctx.login.empty()) return ctx.login;
    return msg.from.empty() ? none : msg.from.front().address;
}
} // namespace

void VerdictStage::judge_async(Envelope env, std::string data, Record record,
                               std::function<void(Judgement, Envelope, std::string)> then,
                               std::function<std::string()> load) {
    Lane& l = lane_for(envelope_sender(env));
    {
        std::lock_guard lk(l.mu);
        l.jobs.push_back({std::move(env), std::move(data), record, std::move(then), std::move(load)});
    }
    l.cv.notify_one();
}

Judgement VerdictStage::judge(const Envelope& env, std::string_view data, Record record) {
    return run(lane_for(envelope_sender(env)), env, data, record);
}

policies::Verdict VerdictStage::check(const mime::Message& msg, const policies::CheckContext& ctx, Record record) {
    Lane& lane = lane_for(draft_sender(msg, ctx));
    policies::Verdict v = judge_on(lane, msg, ctx, record).verdict;
    if (record != Record::no) { // not behind a burst of proxied mail: written now, for every lane to see
        std::lock_guard lk(lane.check_mu);
        lane.history.flush();
    }
    return v;
}

void VerdictStage::allow(const std::string& type, const std::string& value) {
    Lane& lane = *lanes_.front();
    std::lock_guard lk(lane.check_mu);
    lane.history.allow(type, value);
}

std::vector<std::pair<std::string, std::string>> VerdictStage::allow_list() {
    Lane& lane = *lanes_.front();
    std::lock_guard lk(lane.check_mu);
    return lane.history.allow_list();
}

policies::Judged VerdictStage::judge_on(Lane& lane, const mime::Message& msg, policies::CheckContext ctx,
                                        Record record) {
    // A member's group picks their rules (job club); others get the main ones.
    const std::string group = ctx.login.empty() || !group_of_ ? std::string() : group_of_(ctx.login);
    // A member's language, else the daemon's [coach] language, else the mail's own.
    ctx.language = language_of_ ? language_of_(ctx.login) : std::string("auto");
    std::lock_guard lk(lane.check_mu);
    if (lane.policy_generation != policy_generation_.load()) {
        std::lock_guard plk(policy_mu_);
        lane.checkers.set_policy(*next_policy_);
        lane.policy_generation = policy_generation_.load();
    }
    policies::Checker& checker = lane.checkers.for_group(group);
    // Several rapportd on one store: this sender's letters are judged one
    // at a time wherever they arrived (History::take_turn).
    auto turn = lane.history.take_turn(policies::account_of(msg, ctx));
    policies::Judged judged = checker.judge(msg, ctx);
    if (record == Record::yes || (record == Record::unless_rejected && judged.verdict.action != Action::reject))
        checker.record(judged);
    return judged;
}

Judgement VerdictStage::run(Lane& lane, const Envelope& env, std::string_view data, Record record) {
    Judgement j;
    j.info.size = data.size();
    policies::CheckContext ctx;
    ctx.login = env.account;
    ctx.envelope_from = env.mail_from;
    ctx.envelope_recipients = env.rcpts;
    ctx.now = static_cast<std::int64_t>(std::time(nullptr));
    j.account = policies::account_of(mime::Message{}, ctx); // until the From header is read
    try {
        mime::Message msg = mime::parse(data);
        j.info.subject = msg.subject;
        if (!msg.from.empty()) j.info.header_from = msg.from.front().address;
        for (const auto& a : msg.to) j.info.header_to += (j.info.header_to.empty() ? "" : ", ") + a.address;
        j.info.message_id = msg.message_id;

        policies::Judged judged = judge_on(lane, msg, ctx, record);
        policies::Verdict& v = judged.verdict;
        j.action = v.action;
        j.findings = std::move(v.findings);
        j.account = judged.sent.sender;
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
    } catch (const policies::HistoryUnavailable& e) {
        j.unavailable = true;
        j.error = e.what();
        j.action = Action::off;
        j.findings.clear();
    } catch (const std::exception& e) {
        j.error = e.what();
        j.action = Action::off;
        j.findings.clear();
    }
    j.info.findings_json = policies::to_json(j.findings).dump();
    j.info.action = std::string(policies::verdict_name(j.action));
    return j;
}

std::string reject_reply(const std::vector<policies::Finding>& findings) {
    // In the findings' language, like the findings (UTF-8 when that is not English).
    const std::string lang = findings.empty() ? std::string("en") : findings.front().lang;
    std::vector<std::string> lines{tr_in(lang, "reject-reply", "Rapport did not send this message:")};
    for (const auto& f : findings) {
        if (f.action != Action::reject && f.action != Action::hold && f.action != Action::warn) continue;
        std::string text = f.message + " [" + f.rule + "]";
        // Wrap at word boundaries near 400 octets.
        while (text.size() > 400) {
            auto cut = text.rfind(' ', 400);
            if (cut == std::string::npos || cut == 0) {
                cut = 400;
                while (cut > 1 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut; // whole characters
            }
            lines.push_back(text.substr(0, cut));
            text = text.substr(cut + (text[cut] == ' ' ? 1 : 0));
        }
        lines.push_back(text);
    }
    return smtp::multiline_reply(550, "5.7.1", lines);
}

} // namespace rapport::daemon
