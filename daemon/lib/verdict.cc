// verdict.cc - see verdict.h.

#include "daemon/lib/verdict.h"

#include "daemon/lib/smtp_protocol.h"
#include "mime/message.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace rapport::daemon {

using policies::Action;

VerdictStage::VerdictStage(policies::Policy policy, const std::string& history_path)
    : history_(history_path), checker_(policy, history_) {
    for (const auto& [id, rs] : policy.rules) can_reject_ |= rs.action == Action::reject;
}

std::string VerdictStage::account_of(const Envelope& env) const {
    if (!env.account.empty()) return env.account;
    std::string a = env.mail_from;
    std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return a;
}

Judgement VerdictStage::judge(const Envelope& env, std::string_view data, bool record) {
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
        policies::Verdict v;
        {
            std::lock_guard lk(mu_);
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
