// checker.h - judges one message by the policy, and remembers what was sent.
//
// The one entry point the CLI, the daemon and the HTTP API use:
//
//   SqliteHistory history(state_dir + "/history.db");   // or store::PgHistory
//   Checker checker(load_policy_file(path), history);
//   Judged j = checker.judge(mime::parse(raw), {.login = "amira"});
//   if (it is sent or held) checker.record(j);
//
// judge() reads the message model and the history and changes nothing: a
// draft, a message about to be rejected and one judged again after a crash
// are judged the same way. record() adds a judged message to its sender's
// history, where template-reuse and wrong-organisation look back at it.
// Neither touches sockets or files besides the history.

#pragma once

#include "mime/message.h"
#include "policies/finding.h"
#include "policies/history.h"
#include "policies/policy.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rapport::policies {

struct CheckContext {
    // Who signed in to send: the SMTP AUTH user (a job club member or an
    // [auth] account), or the member whose add-on token sent it; empty for
    // no one.
    std::string login;
    // SMTP MAIL FROM: whose mail it is when there is no From header.
    std::string envelope_from;
    // SMTP envelope recipients (RCPT TO), counted with To/Cc/Bcc.
    std::vector<std::string> envelope_recipients;
    // Send time; 0: the Date header, else the current time.
    std::int64_t now = 0;
    // The findings' language: "auto" (the language of the mail's own
    // words) or one of coach_languages() (policies/language.h).
    std::string language = "auto";
};

// Whose history a message joins and is compared with, wherever it is
// judged: the login, else the From address, else the envelope sender
// (addresses in lower case).
std::string account_of(const mime::Message& msg, const CheckContext& ctx);

// A judged message: the verdict, and what record() keeps of it.
struct Judged {
    Verdict verdict;
    SentRecord sent;          // sender (the account), time, recipients, organisations, fingerprint
    std::int64_t horizon = 0; // history older than this no rule looks at
};

class Checker {
public:
    Checker(Policy policy, History& history);

    // The findings and the action for `msg`; the history is only read.
    Judged judge(const mime::Message& msg, const CheckContext& ctx = {});
    // Remembers a judged message as sent (or held) by its account, and
    // forgets what no rule will look at any more.
    void record(const Judged& judged);
    // judge() then record(): mail known to leave (rapportctl check).
    Verdict check(const mime::Message& msg, const CheckContext& ctx = {});

    const Policy& policy() const { return policy_; }
    void set_policy(Policy p) { policy_ = std::move(p); }

private:
    Policy policy_;
    History& history_;
};

// One Checker per member group of a policy ([groups.NAME], policy.h), made
// on first use and all sharing one History: the daemon's verdict lanes and
// the HTTP API check each job club member with their group's rules.
// A group the policy does not name gets the main rules. Not thread-safe.
class GroupCheckers {
public:
    GroupCheckers(Policy policy, History& history) : policy_(std::move(policy)), history_(history) {}
    Checker& for_group(const std::string& group);
    // A reloaded policy: the checkers are made again from it, group by group.
    void set_policy(Policy p);

private:
    Policy policy_;
    History& history_;
    std::map<std::string, std::unique_ptr<Checker>> checkers_; // by group; "" = the main rules
};

} // namespace rapport::policies
