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

} // namespace rapport::policies
