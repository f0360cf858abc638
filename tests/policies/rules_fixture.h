// rules_fixture.h - the Checker every rule test runs: the default policy
// and an in-memory history, as `rapportctl check` has without --state;
// and the letters several rule tests share.

#pragma once

#include "mime/message.h"
#include "policies/checker.h"
#include "policies/history.h"
#include "policies/policy.h"
#include "tests/policies/mail_builder.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace rapport::test {

namespace rp = rapport::policies;
namespace rm = rapport::mime;

using rapport::test::Mail;

class Rules : public ::testing::Test {
protected:
    rp::SqliteHistory history{":memory:"};
    rp::Checker checker{rp::default_policy(), history};

    std::set<std::string> fired(const Mail& m) {
        rp::Verdict v = checker.check(rm::parse(m.raw()));
        std::set<std::string> out;
        for (auto& f : v.findings) out.insert(f.rule);
        return out;
    }
};

inline const std::string kLongBody =
    "Dear Ms Shah,\n\nI'm applying for the Warehouse Team Leader post at Halden's Daventry site that was\n"
    "advertised on your careers page. I have spent four years at a parcel hub in Northampton, the last\n"
    "eighteen months as a shift supervisor running a team of twelve on nights, and I hold counterbalance\n"
    "and reach truck licences.\n\nKind regards,\nJake\n";

using Set = std::set<std::string>;


// The same letter to `first` Smith at `org`, naming `mention` (else `org`).
inline Mail templated(const std::string& first, const std::string& org, int day, const std::string& mention = "") {
    Mail m;
    std::string lower = first;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string lorg = org;
    for (auto& c : lorg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    m.to = first + " Smith <" + lower + ".smith@" + lorg + ".co.uk>";
    m.subject = "Account Manager vacancy";
    m.date = "Mon, " + std::to_string(day) + " Mar 2025 09:00:00 +0000";
    std::string at = mention.empty() ? org : mention;
    m.body = "Dear " + first + ",\n\nI would like to be considered for the Account Manager vacancy at " + at +
             ". For the past five years I have managed a book of around forty B2B accounts for a packaging "
             "distributor, growing it while keeping churn under 5%.\n\nAt " + at +
             " I would bring that same approach, along with solid Salesforce habits.\n\nKind regards,\nTom\n";
    return m;
}

} // namespace rapport::test
