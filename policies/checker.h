// checker.h - runs the outreach checks on one message and applies the policy.
//
// The one entry point the CLI and the daemon use:
//
//   History history(state_dir + "/history.db");
//   Checker checker(load_policy_file(path), history);
//   Verdict v = checker.check(mime::parse(raw), {.account = "ann@x.org"});
//
// check() reads the message model only (no sockets, no files besides the
// history); with ctx.record it remembers the message for later checks.

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
    // Whose history this message joins: the authenticated member in the
    // daemon, else the lower-case From address. Empty: taken from From.
    std::string account;
    // SMTP envelope recipients (RCPT TO), counted with To/Cc/Bcc.
    std::vector<std::string> envelope_recipients;
    // Send time; 0: the Date header, else the current time.
    std::int64_t now = 0;
    // Remember this message for template-reuse / wrong-organisation.
    bool record = true;
    // The findings' language: "auto" (the language of the mail's own
    // words) or one of coach_languages() (policies/language.h).
    std::string language = "auto";
};

class Checker {
public:
    Checker(Policy policy, History& history);

    Verdict check(const mime::Message& msg, const CheckContext& ctx = {});

    const Policy& policy() const { return policy_; }
    void set_policy(Policy p) { policy_ = std::move(p); }

private:
    Policy policy_;
    History& history_;
};

// One Checker per member group of a policy ([groups.NAME], policy.h), made
// on first use and all sharing one History: the daemon's verdict lanes and
// its analyze endpoint check each job club member with their group's rules.
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
