// vague-subject and the subject reading behind it (policies/subject.h):
// generic words in any order and language are vague; a role or field, a
// reference number or an organisation makes a subject specific.

#include "policies/people.h"
#include "policies/subject.h"
#include "tests/policies/mail_builder.h"
#include "tests/policies/rules_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rp = rapport::policies;
namespace rm = rapport::mime;
using rapport::test::Mail;
using rapport::test::rules_fired;

namespace {

bool vague(const std::string& subject, const std::vector<std::string>& own_names = {"olek", "mazur"},
           const std::vector<rp::Person>& recipients = {}) {
    return rp::read_subject(subject, own_names, recipients).generic;
}

} // namespace

TEST(VagueSubject, GenericWordsInAnyOrder) {
    EXPECT_TRUE(vague("Application"));
    EXPECT_TRUE(vague("Opportunities - application"));
    EXPECT_TRUE(vague("Seeking a full-time position"));
    EXPECT_TRUE(vague("Motivated graduate looking for opportunities"));
    EXPECT_TRUE(vague("Quick question about openings"));
    EXPECT_TRUE(vague("Olek Mazur - CV"));                 // the sender's own name
    EXPECT_TRUE(vague("Summer internship application 2026")); // a year is no reference
    EXPECT_TRUE(vague(""));
}

TEST(VagueSubject, GenericWordsInOtherLanguages) {
    EXPECT_TRUE(vague("Candidature spontanée pour un emploi"));
    EXPECT_TRUE(vague("Recherche d'alternance"));
    EXPECT_TRUE(vague("Initiativbewerbung um einen Ausbildungsplatz"));
    EXPECT_TRUE(vague("Praktikumsanfrage"));                // a compound of generic words
    EXPECT_TRUE(vague("Solicitud de prácticas"));
    EXPECT_TRUE(vague("Pregunta: oportunidades laborales") == false); // "pregunta" is not listed: specific
    EXPECT_TRUE(vague("Zapytanie o staż"));
    EXPECT_TRUE(vague("Praca dorywcza od zaraz"));
}

TEST(VagueSubject, RoleFieldReferenceOrOrganisationIsSpecific) {
    EXPECT_FALSE(vague("Sous-chef, Brasserie Lune"));
    EXPECT_FALSE(vague("Horticulture apprenticeship"));
    EXPECT_FALSE(vague("Application - ref 20417"));
    EXPECT_FALSE(vague("Job application JR-2291"));
    EXPECT_FALSE(vague("Application #12"));
    EXPECT_FALSE(vague("IT internship"));                  // the field, not the pronoun
    EXPECT_FALSE(vague("Bewerbung als Kfz-Mechatroniker"));
    EXPECT_FALSE(vague("Elektronikerausbildung"));          // compound with a field in it
    EXPECT_FALSE(vague("Candidature - assistante comptable"));
    EXPECT_FALSE(vague("Prácticas de contabilidad"));
    EXPECT_FALSE(vague("Staż w dziale księgowości"));
}

TEST(VagueSubject, RecipientNamesSayNothingTheirOrganisationDoes) {
    rp::Person p = rp::describe_person({"Dana Whitfield", "dana.whitfield@workandjobs.co.uk"});
    EXPECT_TRUE(vague("Application - for Dana", {}, {p}));
    EXPECT_FALSE(vague("Work and jobs - application", {}, {p})); // names workandjobs.co.uk
}

TEST(VagueSubject, RuleFiresOnJobSeekingMailOnly) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.subject = "Job application";
    m.body = "Dear Ms Shah,\n\nI'm applying for the Warehouse Team Leader post at Halden's Daventry site. I have run "
             "a night shift of twelve at a parcel hub for eighteen months.\n\nKind regards,\nJake\n";
    EXPECT_TRUE(rules_fired(m).count("vague-subject"));
    m.subject = "Warehouse Team Leader - application";
    EXPECT_FALSE(rules_fired(m).count("vague-subject"));
    Mail friendly;
    friendly.to = "Sam <sam.turner@gmail.com>";
    friendly.subject = "Hello";
    friendly.body = "Hi Sam,\n\nAre we still on for Sunday?\n\nJake\n";
    EXPECT_FALSE(rules_fired(friendly).count("vague-subject"));
}

// The rule through the Checker.
namespace {
using rapport::test::Rules;
using rapport::test::Set;
using rapport::test::kLongBody;
} // namespace

TEST_F(Rules, VagueSubjects) {
    for (std::string s : {"CV", "My resume", "Job application", "Application", "", "Hello", "Bewerbung",
                          "Candidature", "Solicitud", "CV - Jake Turner"}) {
        rp::SqliteHistory h(":memory:");
        rp::Checker c(rp::default_policy(), h);
        Mail m;
        m.to = "Priya Shah <priya.shah@halden.co.uk>";
        m.subject = s;
        m.body = kLongBody;
        m.attachments = {"CV.pdf"};
        auto v = c.check(rm::parse(m.raw()));
        std::set<std::string> got;
        for (auto& f : v.findings) got.insert(f.rule);
        EXPECT_EQ(got, Set{"vague-subject"}) << "subject: " << s;
    }
}

TEST_F(Rules, RoleOrOrganisationMakesSubjectSpecific) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.body = kLongBody;
    m.attachments = {"CV.pdf"};
    for (std::string s : {"Application - Halden", "Team Leader application", "CV for forklift driver role"}) {
        m.subject = s;
        EXPECT_FALSE(fired(m).count("vague-subject")) << s;
    }
}

TEST_F(Rules, OrdinarySubjectsAreNotJudged) {
    Mail m;
    m.to = "Ruby Thompson <ruby.thompson@gmail.com>";
    m.subject = "Hello";
    m.body = "Hi Ruby,\n\nLong time no speak! Are you back in Leeds for Christmas?\n\nEm x\n";
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, JobTitleInTheSignatureStillMakesTheSubjectSpecific) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.subject = "Forklift Driver";
    m.body = kLongBody + "-- \nJake Turner\nForklift Driver, Northampton\n";
    m.attachments = {"CV.pdf"};
    EXPECT_FALSE(fired(m).count("vague-subject"));
}
