// verdict.h - the judging service: what the policy says about a message.
//
//   VerdictStage v(policy, state_dir + "/history.db", lanes);
//   v.judge_async(env, data, /*record=*/true, [](Judgement j, ...) { ... });  // the proxy
//   policies::Verdict d = v.check(draft, ctx, VerdictStage::Record::no);      // POST /analyze
//   v.set_policy(reloaded);                                                   // SIGHUP
//
// Every message is judged here, whichever way it came (the SMTP proxy, a
// draft from the add-on, a message the add-on saw leave), with one policy
// and one rule for whose history it joins (policies::account_of). Judging
// and recording are two steps: a message joins its sender's history only
// when it is sent or held - never a draft, never one that is rejected (it
// never left), never one judged again after a crash (it may have been
// recorded before).
//
// Lanes: each lane is one thread with its own History connection (SQLite
// WAL, so lanes can share history.db; or PostgreSQL) and its own checkers. A message goes
// to the lane of its login or envelope sender (hash), so one sender's
// messages are judged one after another in arrival order and each sees the
// previous one in the history - template-reuse stays exact - while
// different senders are judged in parallel. A judgement is CPU-bound (well
// under a millisecond for a letter); lanes beyond the number of cores buy
// nothing.
//
// Job club: an authenticated member's mail is judged with the rules of
// their group (policy [groups.NAME], members.h).
//
// History writes are grouped (write-behind of 4, flushed whenever a lane is
// idle): a lane always sees its own records, other connections once they
// are written, i.e. after a burst at the latest.
//
// Contract: never throws for a message. A checker failure is reported in
// Judgement::error and the message is relayed (fail open: Rapport coaches,
// it must not eat mail). A store that cannot be reached is no checker
// failure: Judgement::unavailable, and nothing about the message is
// decided (intake.h keeps it until the store is back).

#pragma once

#include "daemon/lib/queue.h"
#include "mime/message.h"
#include "policies/checker.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <string_view>
#include <utility>

namespace rapport::daemon {

struct Judgement {
    policies::Action action = policies::Action::off;
    std::vector<policies::Finding> findings;
    MessageInfo info; // action name, findings as JSON, headers for listings
    std::string error; // the checker failed (then action is relay)
    // The history's store could not be reached (PostgreSQL down): not
    // judged at all. The message waits in the spool until it can be.
    bool unavailable = false;
    // For the reply ledger (daemon/lib/outcomes.h): what the message is, by
    // its header; nothing of its body.
    std::string account;                 // whose it is (policies::account_of)
    bool application = false;            // job-seeking new mail (SPEC.md)
    std::vector<std::string> recipients; // lower-case, To/Cc/Bcc and envelope, the sender excluded
    std::vector<std::string> refs;       // its In-Reply-To and References
    std::map<std::string, std::string> names; // lower-case To/Cc address -> display name, where one is given
};

class VerdictStage {
public:
    // When a judged message joins its sender's history.
    enum class Record {
        no,              // a draft; a message judged again after a crash
        unless_rejected, // the proxy: sent or held, but a rejected one never left
        yes,             // it has left (the add-on saw it go)
    };

    // Each lane opens its own History: SQLite at `history_path`, or what
    // `open_history` returns (store::PgHistory with [store] url).
    VerdictStage(const policies::Policy& policy, const std::string& history_path, unsigned lanes);
    using HistoryFactory = std::function<std::unique_ptr<policies::History>()>;
    VerdictStage(const policies::Policy& policy, const HistoryFactory& open_history, unsigned lanes);
    ~VerdictStage();
    // True when some rule's action is reject: then the reply must wait for the verdict.
    bool can_reject() const { return can_reject_.load(); }
    // SIGHUP: from now on checks use `policy` (whole, never half-applied):
    // each lane picks it up before its next check; a check already running
    // finishes with the old one. Thread-safe.
    void set_policy(const policies::Policy& policy);
    // The policy group of an authenticated account (a job club member), ""
    // for none. Set before the first message is judged; called on the
    // lanes, so it must be thread-safe.
    void set_group_lookup(std::function<std::string(const std::string& account)> f) { group_of_ = std::move(f); }
    // The findings' language for an authenticated account ("" for others):
    // "auto" or a language (policies/language.h). Set before the first
    // message is judged; called on the lanes, so it must be thread-safe.
    // Unset: "auto".
    void set_language_lookup(std::function<std::string(const std::string& account)> f) { language_of_ = std::move(f); }

    // The proxy: judges the spooled bytes on the lane of the envelope's
    // sender and calls `then` there, in submission order per sender. With
    // `load`, `data` is empty and is read when the lane gets to it (from
    // the spool: a long backlog then costs no memory).
    void judge_async(Envelope env, std::string data, Record record,
                     std::function<void(Judgement, Envelope, std::string)> then,
                     std::function<std::string()> load = {});
    // The same on the calling thread (under the lane's lock): recovery.
    Judgement judge(const Envelope& env, std::string_view data, Record record);
    // A parsed message (a draft, or one the add-on saw leave) judged on the
    // calling thread, on the lane of ctx.login or its sender. Throws when
    // the checker fails.
    policies::Verdict check(const mime::Message& msg, const policies::CheckContext& ctx, Record record);

    // The allow-list kept with the history (policies::History::allow):
    // messages only to allowed people are not judged.
    void allow(const std::string& type, const std::string& value);
    std::vector<std::pair<std::string, std::string>> allow_list();

    // Finishes every job already submitted, then stops the lanes.
    void stop();

private:
    struct Lane;
    Lane& lane_for(const std::string& sender);
    Judgement run(Lane& lane, const Envelope& env, std::string_view data, Record record);
    policies::Judged judge_on(Lane& lane, const mime::Message& msg, policies::CheckContext ctx, Record record);
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::atomic<bool> can_reject_{false};
    std::function<std::string(const std::string&)> group_of_;
    std::function<std::string(const std::string&)> language_of_;
    std::mutex policy_mu_;                          // guards next_policy_
    std::shared_ptr<const policies::Policy> next_policy_; // the reloaded policy
    std::atomic<unsigned> policy_generation_{0};    // bumped by set_policy
};

// The 550 reply for a rejected message: the findings' sentences, one per
// line (wrapped to stay well inside RFC 5321's 512-octet reply lines), in
// the findings' language - UTF-8 text when that is not English.
std::string reject_reply(const std::vector<policies::Finding>& findings);

} // namespace rapport::daemon
