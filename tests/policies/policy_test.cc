// policy_test.cc - the TOML policy: shipped files, defaults and every error
// class with its file:line:column.

#include "policies/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace rapport::policies {
namespace {

const std::string kSource = RAPPORT_SOURCE_DIR;

// The message of the PolicyError thrown by parsing `text`, or "" if none.
std::string error_of(const std::string& text) {
    try {
        parse_policy(text, "policy.toml");
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "";
}

TEST(Policy, DefaultsAreAsSpecified) {
    Policy p = default_policy();
    ASSERT_EQ(p.rules.size(), 9u);
    for (const auto& id : rule_ids()) EXPECT_EQ(p.rules.count(id), 1u) << id;
    for (const char* id : {"cv-attachment-only", "template-reuse", "unfilled-placeholder", "wrong-organisation"})
        EXPECT_EQ(p.rule(id).action, Action::hold) << id;
    for (const char* id : {"bulk-recipients", "generic-greeting", "greeting-mismatch", "no-personalisation", "vague-subject"})
        EXPECT_EQ(p.rule(id).action, Action::warn) << id;
    EXPECT_EQ(p.rule("cv-attachment-only").min_words, 20);
    EXPECT_EQ(p.rule("template-reuse").min_recipients, 5);
    EXPECT_EQ(p.rule("template-reuse").window_days, 30);
    EXPECT_EQ(p.rule("bulk-recipients").min_parties, 3);
    EXPECT_EQ(p.longest_window_seconds(), 30LL * 86400);
    EXPECT_THROW(p.rule("no-such-rule"), std::out_of_range);
}

TEST(Policy, ShippedDefaultEqualsBuiltIn) {
    EXPECT_EQ(load_policy_file(kSource + "/policies/default.toml"), default_policy());
}

TEST(Policy, ShippedJobClubLoadsAndIsStricter) {
    Policy p = load_policy_file(kSource + "/policies/jobclub.toml");
    Policy d = default_policy();
    EXPECT_NE(p, d);
    for (const auto& id : rule_ids()) EXPECT_GE(p.rule(id).action, d.rule(id).action) << id;
    EXPECT_LE(p.rule("template-reuse").min_recipients, d.rule("template-reuse").min_recipients);
    // Its two documented groups - new members held on every finding,
    // experienced members only warned.
    Policy fresh = p.for_group("new"), old = p.for_group("experienced");
    for (const auto& id : rule_ids()) {
        EXPECT_EQ(fresh.rule(id).action, Action::hold) << id;
        EXPECT_EQ(old.rule(id).action, Action::warn) << id;
    }
}

TEST(Policy, EmptyAndPartialFilesKeepDefaults) {
    EXPECT_EQ(parse_policy("", "x.toml"), default_policy());
    EXPECT_EQ(parse_policy("version = 1\n", "x.toml"), default_policy());
    Policy p = parse_policy("[rules.template-reuse]\nmin_recipients = 8\n\n[rules.vague-subject]\naction = \"off\"\n",
                            "x.toml");
    Policy want = default_policy();
    want.rules["template-reuse"].min_recipients = 8;
    want.rules["vague-subject"].action = Action::off;
    EXPECT_EQ(p, want);
    EXPECT_EQ(p.rule("template-reuse").action, Action::hold); // untouched key keeps its default
}

TEST(Policy, DottedAndInlineTablesWork) {
    Policy p = parse_policy("rules.generic-greeting.action = \"reject\"\n"
                            "rules.bulk-recipients = { action = \"hold\", min_parties = 4 }\n",
                            "x.toml");
    EXPECT_EQ(p.rule("generic-greeting").action, Action::reject);
    EXPECT_EQ(p.rule("bulk-recipients").action, Action::hold);
    EXPECT_EQ(p.rule("bulk-recipients").min_parties, 4);
}

TEST(Policy, WindowFollowsTemplateReuse) {
    Policy p = parse_policy("[rules.template-reuse]\nwindow_days = 90\n", "x.toml");
    EXPECT_EQ(p.longest_window_seconds(), 90LL * 86400);
}

TEST(Policy, AllowListsAreLowerCasedAndDeduplicated) {
    Policy p = parse_policy("[allow]\nrecipients = [\"Mentor@Example.ORG\", \"mentor@example.org\"]\n"
                            "domains = [\"JobCentre.Example\"]\n",
                            "x.toml");
    EXPECT_EQ(p.allow_recipients, std::vector<std::string>{"mentor@example.org"});
    EXPECT_EQ(p.allow_domains, std::vector<std::string>{"jobcentre.example"});
}

TEST(PolicyErrors, UnknownRuleNamesItsPositionAndTheKnownIds) {
    std::string e = error_of("version = 1\n\n[rules.generic-greeting]\naction = \"warn\"\n\n[rules.vague-subjet]\naction = \"hold\"\n");
    EXPECT_EQ(e.rfind("policy.toml:6:8: unknown rule \"vague-subjet\" (known: cv-attachment-only, ", 0), 0u) << e;
    EXPECT_NE(e.find("vague-subject)"), std::string::npos) << e;
}

TEST(PolicyErrors, UnknownTopLevelKeyAndTable) {
    EXPECT_EQ(error_of("version = 1\nstrict = true\n"),
              "policy.toml:2:1: unknown setting \"strict\" (known: version, rules, allow, groups)");
    EXPECT_EQ(error_of("\n[members]\nnames = []\n"),
              "policy.toml:2:2: unknown table \"members\" (known: version, rules, allow, groups)");
}

// Member groups.
TEST(PolicyGroups, GroupRulesOverrideTheMainRules) {
    Policy p = parse_policy("[rules.template-reuse]\nmin_recipients = 4\n"
                            "[groups.new.rules.template-reuse]\nmin_recipients = 2\n"
                            "[groups.new.rules.vague-subject]\naction = \"hold\"\n"
                            "[groups.experienced.rules.cv-attachment-only]\naction = \"warn\"\n",
                            "policy.toml");
    ASSERT_TRUE(p.has_group("new"));
    ASSERT_TRUE(p.has_group("experienced"));
    EXPECT_FALSE(p.has_group("tuesday"));
    Policy fresh = p.for_group("new");
    EXPECT_EQ(fresh.rule("template-reuse").min_recipients, 2);
    EXPECT_EQ(fresh.rule("template-reuse").action, Action::hold); // from the default, through the main rules
    EXPECT_EQ(fresh.rule("vague-subject").action, Action::hold);
    EXPECT_EQ(fresh.rule("cv-attachment-only").action, Action::hold);
    Policy old = p.for_group("experienced");
    EXPECT_EQ(old.rule("template-reuse").min_recipients, 4); // the main rule, not the default 5
    EXPECT_EQ(old.rule("cv-attachment-only").action, Action::warn);
    // No group, or one the file does not name: the main rules.
    EXPECT_EQ(p.for_group("").rules, p.rules);
    EXPECT_EQ(p.for_group("tuesday").rules, p.rules);
}

TEST(PolicyGroups, ARejectInAnyGroupMeansRepliesMustWait) {
    EXPECT_FALSE(parse_policy("", "p").can_reject());
    EXPECT_TRUE(parse_policy("[groups.new.rules.unfilled-placeholder]\naction = \"reject\"\n", "p").can_reject());
}

TEST(PolicyGroups, AGroupsWindowKeepsTheHistoryLongEnough) {
    Policy p = parse_policy("[groups.slow.rules.template-reuse]\nwindow_days = 90\n", "p");
    EXPECT_EQ(p.longest_window_seconds(), 90LL * 86400);
    EXPECT_EQ(p.for_group("").longest_window_seconds(), 90LL * 86400);
}

TEST(PolicyGroups, MistakesInAGroupAreRefusedWithTheirPlace) {
    EXPECT_EQ(error_of("[groups.new.rules.generic-greting]\naction = \"hold\"\n"),
              "policy.toml:1:19: unknown rule \"generic-greting\" (known: cv-attachment-only, template-reuse, "
              "bulk-recipients, generic-greeting, greeting-mismatch, no-personalisation, unfilled-placeholder, "
              "wrong-organisation, vague-subject)");
    EXPECT_EQ(error_of("[groups.new]\nmembers = [\"ann\"]\n"),
              "policy.toml:2:1: unknown setting \"members\" in [groups.new] (a group has only rules: "
              "[groups.new.rules.RULE])");
    EXPECT_EQ(error_of("[groups.new.rules.vague-subject]\naction = \"block\"\n"),
              "policy.toml:2:10: unknown action \"block\" (expected off, info, warn, hold or reject)");
    EXPECT_EQ(error_of("[groups.\"new members\".rules.vague-subject]\naction = \"hold\"\n"),
              "policy.toml:1:9: group name \"new members\" may use letters, digits, _ and - only");
}

TEST(PolicyErrors, UnknownKeyInRule) {
    EXPECT_EQ(error_of("[rules.cv-attachment-only]\nmin_word = 10\n"),
              "policy.toml:2:1: unknown setting \"min_word\" for rule \"cv-attachment-only\" (it accepts: action, min_words)");
    // A threshold that belongs to another rule is refused too.
    EXPECT_EQ(error_of("[rules.generic-greeting]\n  min_words = 10\n"),
              "policy.toml:2:3: unknown setting \"min_words\" for rule \"generic-greeting\" (it accepts: action)");
}

TEST(PolicyErrors, BadAction) {
    EXPECT_EQ(error_of("[rules.template-reuse]\naction = \"hlod\"\n"),
              "policy.toml:2:10: unknown action \"hlod\" (expected off, info, warn, hold or reject)");
    EXPECT_EQ(error_of("[rules.template-reuse]\naction = \"Hold\"\n"),
              "policy.toml:2:10: unknown action \"Hold\" (expected off, info, warn, hold or reject)");
}

TEST(PolicyErrors, WrongTypes) {
    EXPECT_EQ(error_of("[rules.template-reuse]\naction = 3\n"),
              "policy.toml:2:10: action of rule \"template-reuse\" must be a string, got an integer");
    EXPECT_EQ(error_of("[rules.template-reuse]\nwindow_days = \"30\"\n"),
              "policy.toml:2:15: window_days of rule \"template-reuse\" must be a whole number, got a string");
    EXPECT_EQ(error_of("[rules.template-reuse]\nwindow_days = 7.5\n"),
              "policy.toml:2:15: window_days of rule \"template-reuse\" must be a whole number, got a number with a fraction");
    EXPECT_EQ(error_of("rules = 5\n"), "policy.toml:1:1: rules must be a table, got an integer");
    EXPECT_EQ(error_of("[rules]\nvague-subject = \"off\"\n"),
              "policy.toml:2:1: rules.vague-subject must be a table, got a string");
    EXPECT_EQ(error_of("[allow]\ndomains = \"x.org\"\n"),
              "policy.toml:2:11: allow.domains must be a list of strings, got a string");
    EXPECT_EQ(error_of("[allow]\ndomains = [\"x.org\", 3]\n"),
              "policy.toml:2:21: allow.domains must hold strings, got an integer");
    EXPECT_EQ(error_of("version = \"1\"\n"), "policy.toml:1:11: version must be an integer, got a string");
    EXPECT_EQ(error_of("version = 2\n"),
              "policy.toml:1:11: unsupported policy version 2 (this program reads version 1)");
}

TEST(PolicyErrors, OutOfRangeNumbers) {
    EXPECT_EQ(error_of("[rules.template-reuse]\nmin_recipients = 0\n"),
              "policy.toml:2:18: min_recipients of rule \"template-reuse\" must be between 2 and 1000, got 0");
    EXPECT_EQ(error_of("[rules.template-reuse]\nwindow_days = 99999999999\n"),
              "policy.toml:2:15: window_days of rule \"template-reuse\" must be between 1 and 365, got 99999999999");
    EXPECT_EQ(error_of("[rules.cv-attachment-only]\nmin_words = -5\n"),
              "policy.toml:2:13: min_words of rule \"cv-attachment-only\" must be between 1 and 1000, got -5");
}

TEST(PolicyErrors, BadAllowEntries) {
    EXPECT_EQ(error_of("[allow]\nrecipients = [\"mentor.example.org\"]\n"),
              "policy.toml:2:15: \"mentor.example.org\" is not an email address");
    EXPECT_EQ(error_of("[allow]\ndomains = [\"a@b.org\"]\n"), "policy.toml:2:12: \"a@b.org\" is not a domain name");
    EXPECT_EQ(error_of("[allow]\nsenders = []\n"),
              "policy.toml:2:1: unknown setting \"senders\" in [allow] (it accepts: recipients, domains)");
}

TEST(PolicyErrors, SyntaxErrorGivesItsOwnPosition) {
    std::string e = error_of("[rules.template-reuse]\naction = \"hold\n");
    EXPECT_EQ(e.rfind("policy.toml:2:", 0), 0u) << e;
    e = error_of("[rules.template-reuse]\naction = \"hold\"\naction = \"warn\"\n");
    EXPECT_EQ(e.rfind("policy.toml:3:", 0), 0u) << e;
}

TEST(PolicyErrors, NothingIsHalfApplied) {
    // The first rule is valid, the second not: the call throws, so there is
    // no partly changed policy to use; a later good parse is unaffected.
    EXPECT_THROW(parse_policy("[rules.vague-subject]\naction = \"off\"\n[rules.nope]\n", "x.toml"), PolicyError);
    EXPECT_EQ(parse_policy("", "x.toml").rule("vague-subject").action, Action::warn);
}

TEST(PolicyErrors, UnreadableFile) {
    try {
        load_policy_file("/nonexistent/policy.toml");
        FAIL() << "no error";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/policy.toml: cannot read", 0), 0u) << e.what();
    }
}

} // namespace
} // namespace rapport::policies
