// verdict.h - the stage between spool and relay: what the policy says about a message.
//
//   VerdictStage v(policy, state_dir + "/history.db");
//   Judgement j = v.judge(envelope, spooled_bytes, /*record=*/true);
//
// Parses the spooled bytes (mime::parse) and runs the policy checker with
// the envelope (account = AUTH user, else the lower-case MAIL FROM). Only
// mail that is going to be sent or held joins the sender's history: when
// the policy can reject at all, the message is first checked without
// recording and checked again with recording only if it is not rejected
// (a rejected message never left, so it must not count as "sent to"
// someone for template-reuse). When no rule can reject, one pass suffices.
//
// Contract: never throws. A checker failure is logged and the message is
// relayed (fail open: Rapport coaches, it must not eat mail).
// Thread-safe: checks are serialised (the history is one SQLite handle);
// parsing runs outside the lock.

#pragma once

#include "daemon/lib/queue.h"
#include "policies/checker.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace rapport::daemon {

struct Judgement {
    policies::Action action = policies::Action::off;
    std::vector<policies::Finding> findings;
    MessageInfo info; // action name, findings as JSON, headers for listings
    std::string error; // the checker failed (then action is relay)
};

class VerdictStage {
public:
    VerdictStage(policies::Policy policy, const std::string& history_path);
    Judgement judge(const Envelope& env, std::string_view data, bool record);
    std::string account_of(const Envelope& env) const;

private:
    std::mutex mu_;
    policies::History history_;
    policies::Checker checker_;
    bool can_reject_ = false;
};

// The 550 reply for a rejected message: the findings' sentences, one per
// line (wrapped to stay well inside RFC 5321's 512-octet reply lines).
std::string reject_reply(const std::vector<policies::Finding>& findings);

} // namespace rapport::daemon
