// finding.h - what a check reports, and the actions a policy can take.
//
// A Finding is one rule that fired on one message, with a sentence for the
// sender in their language (policies/language.h). The policy maps each rule to an Action; the message's action is
// the strongest among its findings (off < info < warn < hold < reject).

#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

enum class Action { off, info, warn, hold, reject };

// "off", "info", "warn", "hold", "reject".
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view s);

// The message-level action as SPEC.md names it: relay|warn|hold|reject
// (off and info both relay).
std::string_view verdict_name(Action a);

struct Finding {
    std::string rule;    // stable id from SPEC.md, e.g. "cv-attachment-only"
    std::string message; // one plain sentence (or two) for the sender
    Action action = Action::warn; // filled in from the policy
    std::string lang = "en";      // the language `message` is written in: "en", "fr", "de", "es", "pl"
};

struct Verdict {
    Action action = Action::off; // strongest action among findings
    std::vector<Finding> findings;
    // What the checker learnt of the message besides findings (SPEC.md's
    // terms), for the reply ledger: an application is job-seeking new mail.
    bool reply = false;
    bool job_seeking = false;
    std::vector<std::string> recipients; // lower-case: To, Cc, Bcc, envelope; the sender excluded
};

// The findings as SPEC.md's "flags":
// [{"rule": "...", "message": "...", "lang": "fr", "action": "warn"}, ...] - the one shape
// rapportctl check --json, the queue, /analyze and /messages all show.
nlohmann::json to_json(const std::vector<Finding>& findings);

} // namespace rapport::policies
