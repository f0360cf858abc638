// policy.h - the admin-editable policy: per rule an action and thresholds.
//
// A policy is a TOML file (see policies/default.toml). Loading is all or
// nothing: any unknown rule id, bad action, unknown key or wrong type is
// refused with file:line:column and what is wrong; nothing is half-applied.
//
//   [rules.template-reuse]
//   action = "hold"
//   min_recipients = 5
//   window_days = 30
//
//   [allow]
//   recipients = ["mentor@example.org"]   # messages only to these skip checks
//   domains = ["jobcentre.example"]
//
//   [groups.new.rules.generic-greeting]    # job club member groups:
//   action = "hold"                         # a group's rules override the main
//                                           # ones for members in that group

#pragma once

#include "policies/finding.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rapport::policies {

struct RuleSettings {
    Action action = Action::warn;
    // Thresholds; only the ones a rule uses are meaningful.
    int min_words = 20;      // cv-attachment-only
    int min_recipients = 5;  // template-reuse
    int window_days = 30;    // template-reuse
    int min_parties = 3;     // bulk-recipients

    bool operator==(const RuleSettings&) const = default;
};

struct Policy {
    std::map<std::string, RuleSettings> rules; // every rule id in rule_ids()
    std::vector<std::string> allow_recipients; // lower-case addresses
    std::vector<std::string> allow_domains;    // lower-case domains
    // Member groups: each group's complete rule set (the main rules with the
    // group's overrides applied). The allow-lists are shared by all groups.
    std::map<std::string, std::map<std::string, RuleSettings>> groups;

    // The settings for `rule`; every known id is present.
    const RuleSettings& rule(const std::string& id) const;
    // The policy a member of `group` is checked with: this one with the
    // group's rules; the main rules for "" or a group the file does not name.
    Policy for_group(const std::string& group) const;
    bool has_group(const std::string& group) const { return groups.count(group) != 0; }
    // True when any rule of the main policy or of a group rejects.
    bool can_reject() const;
    // The longest window any rule looks back (for pruning history), seconds.
    long long longest_window_seconds() const;

    bool operator==(const Policy&) const = default;
};

// The nine rule ids of SPEC.md, in its order.
const std::vector<std::string>& rule_ids();

// The built-in policy (same as the shipped policies/default.toml).
Policy default_policy();

struct PolicyError : std::runtime_error {
    using std::runtime_error::runtime_error; // what(): "file:line:col: what is wrong"
};

// Parses TOML text; `origin` names it in errors. Throws PolicyError.
Policy parse_policy(std::string_view toml_text, const std::string& origin);
// Reads and parses a file. Throws PolicyError (also when unreadable).
Policy load_policy_file(const std::string& path);

} // namespace rapport::policies
