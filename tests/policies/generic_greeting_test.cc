// generic-greeting: a greeting that addresses nobody, or none at all in a
// job seeker's letter; and how the splitter finds greetings that are easy
// to miss (no comma, a merge field, a name alone, below an address block).

#include "policies/letter.h"
#include "policies/text.h"
#include "tests/policies/mail_builder.h"
#include "tests/policies/rules_fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace rm = rapport::mime;
namespace rp = rapport::policies;
using rapport::test::Mail;
using rapport::test::rules_fired;

namespace {

Mail application(std::string body) {
    Mail m;
    m.from = "Lena Vogt <lena.vogt@web.de>";
    m.to = "Jonas Keller <jonas.keller@tischlerei-keller.de>";
    m.subject = "Bewerbung als Tischlerin";
    m.body = std::move(body);
    return m;
}

} // namespace

TEST(GenericGreeting, NoGreetingInAnApplication) {
    auto fired = rules_fired(application(
        "ich habe Ihre Anzeige für eine Tischlerin in der Tischlerei Keller gesehen und bewerbe mich hiermit. "
        "Ich habe drei Jahre Möbelbau hinter mir.\n\nViele Grüße\nLena Vogt\n"));
    EXPECT_TRUE(fired.count("generic-greeting"));
    auto greeted = rules_fired(application(
        "Sehr geehrter Herr Keller,\n\nich habe Ihre Anzeige für eine Tischlerin in der Tischlerei Keller gesehen "
        "und bewerbe mich hiermit.\n\nViele Grüße\nLena Vogt\n"));
    EXPECT_FALSE(greeted.count("generic-greeting"));
}

TEST(GenericGreeting, NoGreetingInOrdinaryMailIsFine) {
    Mail m;
    m.from = "Lena Vogt <lena.vogt@web.de>";
    m.to = "Paul Vogt <paul.vogt@gmx.de>";
    m.subject = "Sonntag";
    m.body = "Kommst du Sonntag zum Essen? Bring bitte die Leiter mit.\n\nLena\n";
    EXPECT_TRUE(rules_fired(m).empty());
}

TEST(GenericGreeting, NoGreetingSaysToUseTheKnownName) {
    Mail m;
    m.from = "Ana Ruiz <ana.ruiz@gmail.com>";
    m.to = "Carlos Méndez <carlos.mendez@panaderiamendez.es>";
    m.subject = "Candidatura - dependienta de panadería";
    m.body = "Le escribo para presentar mi candidatura al puesto de dependienta en la Panadería Méndez. "
             "Trabajé dos veranos en un obrador.\n\nUn saludo,\nAna\n";
    rapport::policies::SqliteHistory history(":memory:");
    rapport::policies::Checker checker(rapport::policies::default_policy(), history);
    auto v = checker.check(rm::parse(m.raw()));
    bool told = false;
    for (auto& f : v.findings)
        if (f.rule == "generic-greeting") told = f.message.find("Carlos") != std::string::npos;
    EXPECT_TRUE(told);
}

TEST(GreetingSplit, GreetingsThatAreEasyToMiss) {
    // No comma after the greeting: the text starts on the same line.
    auto p = rp::split_text("Dear Hiring Manager I am writing about the chef post.\n\nThanks,\nLi\n");
    EXPECT_EQ(p.greeting, "Dear Hiring Manager");
    EXPECT_EQ(p.body.rfind("I am writing", 0), 0u);
    // A merge field or a recipient's name alone on the first line.
    EXPECT_EQ(rp::split_text("{{first_name}},\n\nHere is my CV.\n").greeting, "{{first_name}},");
    rp::SplitHints hints;
    hints.recipient_names = {"marta", "nowak"};
    EXPECT_EQ(rp::split_text("Marta Nowak\n\nprzesyłam CV.\n", hints).greeting, "Marta Nowak");
    EXPECT_EQ(rp::split_text("Marek\n\nprzesyłam CV.\n", hints).greeting, "");
    // Below a pasted address block of ten short lines.
    std::string letter = "Li Wei\n12 Mill Lane\nLeeds\nLS6 2AB\n07700 900123\nli.wei@example.com\n\n"
                         "3 March 2026\n\nHarbour Kitchen\n4 Quay St\nWhitby\nYO21 1DH\n\nDear Ms Patel,\n\n"
                         "I would like to apply for the commis chef post.\n\nYours sincerely,\nLi Wei\n";
    EXPECT_EQ(rp::split_text(letter).greeting, "Dear Ms Patel,");
    // A recipient's name and a comma, with the text on the same line.
    rp::SplitHints carol;
    carol.recipient_names = {"carol", "dane"};
    EXPECT_EQ(rp::split_text("Carol, good morning! Here is my letter.\n", carol).greeting, "Carol,");
    EXPECT_EQ(rp::split_text("Carol \xE2\x80\x93\n\nHere is my letter.\n", carol).greeting, "Carol \xE2\x80\x93");
    EXPECT_EQ(rp::split_text("Yesterday, I saw your advert.\n", carol).greeting, "");
    // A sentence that starts straight in has no greeting.
    EXPECT_EQ(rp::split_text("I hope you're well.\nI'm applying for the role.\n").greeting, "");
    EXPECT_EQ(rp::split_text("Attention to detail is my strength.\n").greeting, "");
}

// The rule through the Checker.
namespace {
using rapport::test::Rules;
using rapport::test::Set;
using rapport::test::kLongBody;
} // namespace

TEST_F(Rules, GenericGreetingsInEveryLanguage) {
    for (std::string g : {"Dear Sir/Madam,", "To whom it may concern,", "Hello,", "Bonjour,", "Madame, Monsieur,",
                          "Sehr geehrte Damen und Herren,", "Estimados señores:", "Szanowni Państwo,",
                          "Dzień dobry,", "Dear Sirs,"}) {
        Rules::SetUp();
        rp::SqliteHistory h(":memory:");
        rp::Checker c(rp::default_policy(), h);
        Mail m;
        m.to = "jobs@halden.co.uk";
        m.body = g + "\n\nI'm applying for the Warehouse Team Leader post at Halden, advertised last week.\n\n"
                     "Kind regards,\nJake\n";
        auto v = c.check(rm::parse(m.raw()));
        bool has = std::any_of(v.findings.begin(), v.findings.end(),
                               [](auto& f) { return f.rule == "generic-greeting"; });
        EXPECT_TRUE(has) << g;
    }
}

TEST_F(Rules, RoleGreetingIsGenericOnlyWhenANameIsKnown) {
    Mail m;
    m.to = "careers@halden.co.uk";
    m.body = "Dear Hiring Manager,\n\nI'm applying for the team leader post at Halden.\n\nKind regards,\nJake\n";
    EXPECT_FALSE(fired(m).count("generic-greeting"));
    m.to = "daniel.okafor@halden.co.uk"; // first.last: the name is known
    EXPECT_TRUE(fired(m).count("generic-greeting"));
}

TEST_F(Rules, NamedGreetingIsNotGeneric) {
    Mail m;
    m.to = "jobs@halden.co.uk";
    m.body = "Hello Priya,\n\nI'm applying for the team leader post at Halden.\n\nKind regards,\nJake\n";
    EXPECT_FALSE(fired(m).count("generic-greeting"));
}

TEST_F(Rules, RoleGreetingWithMoreWordsAndTeamOfTheFirm) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.body = "Dear Hiring Manager at Halden,\n\nI'm applying for the team leader post at Halden.\n\nKind regards,\nJake\n";
    EXPECT_EQ(fired(m), Set{"generic-greeting"});
    m.body = "Dear Priya and the Halden team,\n\nI'm applying for the team leader post at Halden.\n\nKind regards,\nJake\n";
    EXPECT_EQ(fired(m), Set{});
}
