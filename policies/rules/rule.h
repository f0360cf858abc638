// rule.h - the interface every outreach check implements, and the registry.
//
// A rule is one function: it reads the message's Features (and, for the two
// rules with memory, what the history says) and either stays silent or
// returns its advice for the sender: which message, and the facts to fill in
// (advice.h; the Checker has it said in the sender's language). Which rules apply to replies and to
// ordinary mail is decided here, in one place, from SPEC.md:
//   replies            -> unfilled-placeholder only
//   ordinary new mail  -> unfilled-placeholder, template-reuse
//   job-seeking mail   -> all nine
// Rules are registered in rules.cc in SPEC.md's order.

#pragma once

#include "policies/advice.h"
#include "policies/features.h"
#include "policies/history.h"
#include "policies/policy.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

// What the history knows that a rule may use; filled by the Checker.
struct Memory {
    const History* history = nullptr;
    Fingerprint print;                       // of this message's masked own words
    std::vector<std::string> earlier_orgs;   // organisation keys written to before
};

struct RuleInput {
    const Features& f;
    const RuleSettings& settings;
    const Memory& memory;
};

enum class Scope { all_mail, new_mail, job_seeking };

struct Rule {
    std::string_view id;
    Scope scope;
    std::optional<Advice> (*check)(const RuleInput&);
};

// The nine rules, in SPEC.md's order.
const std::vector<Rule>& all_rules();

// Does a rule of this scope apply to the message?
bool applies(Scope scope, const Features& f);

// The rule functions (one file each under policies/rules/).
std::optional<Advice> check_cv_attachment_only(const RuleInput&);
std::optional<Advice> check_template_reuse(const RuleInput&);
std::optional<Advice> check_bulk_recipients(const RuleInput&);
std::optional<Advice> check_generic_greeting(const RuleInput&);
std::optional<Advice> check_greeting_mismatch(const RuleInput&);
std::optional<Advice> check_no_personalisation(const RuleInput&);
std::optional<Advice> check_unfilled_placeholder(const RuleInput&);
std::optional<Advice> check_wrong_organisation(const RuleInput&);
std::optional<Advice> check_vague_subject(const RuleInput&);

// Shared by several rules -------------------------------------------------

// A greeting that is itself a placeholder ("Dear {{first_name}},").
bool greeting_has_placeholder(const Features& f);
// The first placeholder in `text`, or empty; technical notation is not one
// (policies/notation.h).
std::string find_placeholder(std::string_view text);

// Readable name of a recipient for messages: "Priya Shah", else the address.
std::string display_of(const Features& f, const Person& p);
// The first recipient organisation, readable ("Kronwald"), or empty.
std::string organisation_label(const Features& f);

} // namespace rapport::policies
