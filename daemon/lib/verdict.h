// verdict.h - the stage between spool and relay: what the policy says about a message.
//
//   VerdictStage v(policy, state_dir + "/history.db", lanes);
//   v.judge_async(env, data, /*record=*/true, [](Judgement j) { ... });
//
// Parses the spooled bytes (mime::parse) and runs the policy checker with
// the envelope (account = AUTH user, else the lower-case MAIL FROM).
//
// Lanes: each lane is one thread with its own History connection (SQLite
// WAL, so lanes can share history.db) and its own Checker. A message goes to
// the lane of its account (hash), so one sender's messages are checked one
// after another in arrival order and each check sees the previous one in
// the history - template-reuse stays exact - while different senders are
// checked in parallel. Cost: a check is CPU-bound (a few ms for 20 KB);
// lanes beyond the number of cores buy nothing.
//
// Job club (issue 7): an authenticated member's mail is checked with the
// rules of their group (policy [groups.NAME], members.h) and joins their own
// history, whatever From address they used.
//
// History writes are grouped (write-behind of 4, flushed whenever a lane is
// idle): a lane always sees its own records; the analyze endpoint's
// connection sees them once written, i.e. after a burst at the latest.
//
// Only mail that is going to be sent or held joins the sender's history:
// when the policy can reject at all, the message is first checked without
// recording and checked again with recording only if it is not rejected
// (a rejected message never left, so it must not count as "sent to"
// someone for template-reuse). When no rule can reject, one pass suffices.
//
// Contract: never throws. A checker failure is logged by the caller and the
// message is relayed (fail open: Rapport coaches, it must not eat mail).

#pragma once

#include "daemon/lib/queue.h"
#include "policies/checker.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <string_view>

namespace rapport::daemon {

struct Judgement {
    policies::Action action = policies::Action::off;
    std::vector<policies::Finding> findings;
    MessageInfo info; // action name, findings as JSON, headers for listings
    std::string error; // the checker failed (then action is relay)
    // For the reply ledger (daemon/lib/outcomes.h): what the message is, by
    // its header; nothing of its body.
    bool application = false;            // job-seeking new mail (SPEC.md)
    std::vector<std::string> recipients; // lower-case, To/Cc/Bcc and envelope, the sender excluded
    std::vector<std::string> refs;       // its In-Reply-To and References
    std::map<std::string, std::string> names; // lower-case To/Cc address -> display name, where one is given
};

class VerdictStage {
public:
    VerdictStage(const policies::Policy& policy, const std::string& history_path, unsigned lanes);
    ~VerdictStage();
    // True when some rule's action is reject: then the reply must wait for the verdict.
    bool can_reject() const { return can_reject_.load(); }
    // SIGHUP: from now on checks use `policy` (whole, never half-applied):
    // each lane picks it up before its next check; a check already running
    // finishes with the old one. Thread-safe.
    void set_policy(const policies::Policy& policy);
    // Judges on the account's lane and calls `then` there, in submission order
    // per account. With `load`, `data` is empty and is read when the lane gets
    // to it (from the spool: a long backlog then costs no memory).
    void judge_async(Envelope env, std::string data, bool record,
                     std::function<void(Judgement, Envelope, std::string)> then,
                     std::function<std::string()> load = {});
    // Judges on the calling thread (under the account's lane lock). For recovery.
    Judgement judge(const Envelope& env, std::string_view data, bool record);
    // Finishes every job already submitted, then stops the lanes.
    void stop();
    static std::string account_of(const Envelope& env);
    // Issue 7: the policy group of an authenticated account (a job club
    // member), "" for none. Set before the first message is judged; called
    // on the lanes, so it must be thread-safe.
    void set_group_lookup(std::function<std::string(const std::string& account)> f) { group_of_ = std::move(f); }

private:
    struct Lane;
    Lane& lane_for(const Envelope& env);
    Judgement run(Lane& lane, const Envelope& env, std::string_view data, bool record);
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::atomic<bool> can_reject_{false};
    std::function<std::string(const std::string&)> group_of_;
    std::mutex policy_mu_;                          // guards next_policy_
    std::shared_ptr<const policies::Policy> next_policy_; // the reloaded policy
    std::atomic<unsigned> policy_generation_{0};    // bumped by set_policy
};

// The 550 reply for a rejected message: the findings' sentences, one per
// line (wrapped to stay well inside RFC 5321's 512-octet reply lines).
std::string reject_reply(const std::vector<policies::Finding>& findings);

} // namespace rapport::daemon
