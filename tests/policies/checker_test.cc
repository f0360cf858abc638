// The Checker as a whole: which mail the rules judge (replies, ordinary
// mail, forwards), the policy's actions and the allow lists.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, PersonalisedApplicationIsClean) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.body = kLongBody;
    m.attachments = {"CV_Jake_Turner.pdf"};
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, OrdinaryPersonalMailIsNeverJudgedAsJobSeeking) {
    Mail m;
    m.to = "Sam Green <sam.green@outlook.com>, Jo Kelly <jo.kelly@gmail.com>, Ann Reid <ann@reid.org>";
    m.subject = "Hello";
    m.body = "Hello,\n\nAre you still up for five-a-side on Sunday? My son starts his apprenticeship\n"
             "on Monday, so it's his last free weekend. Could you bring the bibs?\n\nCheers,\nJake\n";
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, TalkingAboutAnInterviewIsNotJobSeeking) {
    Mail m;
    m.to = "Mum <linda.moore62@gmail.com>";
    m.subject = "Interview Monday!";
    m.body = "Hi Mum,\n\nGood news - the Grange want me to do a trial shift on Monday for the room\n"
             "attendant job! Could you have Alfie after school?\n\nLove you x\n";
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, PolicyActionsAndAllowList) {
    rp::Policy p = rp::default_policy();
    p.rules["generic-greeting"].action = rp::Action::reject;
    p.rules["no-personalisation"].action = rp::Action::off;
    rp::SqliteHistory h(":memory:");
    rp::Checker c(p, h);
    Mail m;
    m.to = "careers@estovar.com";
    m.body = "Dear Sir/Madam,\n\nI am writing to apply for the Graduate Software Developer position.\n\nKind "
             "regards,\nJordan\n";
    auto v = c.check(rm::parse(m.raw()));
    EXPECT_EQ(v.action, rp::Action::reject);
    ASSERT_EQ(v.findings.size(), 1u);
    EXPECT_EQ(v.findings[0].rule, "generic-greeting");

    p.allow_domains = {"estovar.com"};
    c.set_policy(p);
    EXPECT_TRUE(c.check(rm::parse(m.raw())).findings.empty());
}

TEST_F(Rules, ForwardIsNewMailAndQuotedReplyIsAReply) {
    Mail fw;
    fw.to = "Leon Carter <leon.carter85@gmail.com>";
    fw.subject = "FW: Job alert: Warehouse Operative (nights)";
    fw.body = "Alright mate,\n\nSaw this and thought of you.\n\nMarcus\n\n________________________________\n"
              "From: JobsNorth Alerts <alerts@jobsnorth.co.uk>\nSent: 24 May 2025 07:00\nSubject: Job alert\n\n"
              "Apply now for this vacancy at {{company}}.\n";
    auto f = rp::extract_features(rm::parse(fw.raw()), {});
    EXPECT_TRUE(f.forward);
    EXPECT_FALSE(f.reply);
    EXPECT_FALSE(f.job_seeking);
    EXPECT_EQ(fired(fw), Set{});

    Mail re;
    re.to = "Priya Nair <priya.nair@amberleigh.co.uk>";
    re.subject = "Your application";
    re.body = "Hello,\n\nYes, Thursday is fine.\n\nNadia\n\n> On 9 Jun 2025, at 10:14, Priya wrote:\n> Hi\n";
    auto r = rp::extract_features(rm::parse(re.raw()), {});
    EXPECT_TRUE(r.reply);
    EXPECT_EQ(fired(re), Set{});
}

TEST_F(Rules, AllowListKeptWithTheHistory) {
    Mail m;
    m.to = "careers@estovar.com";
    m.body = "Dear Sir/Madam,\n\nI am writing to apply for the Graduate Software Developer position.\n\nKind "
             "regards,\nJordan\n";
    EXPECT_FALSE(fired(m).empty());
    history.allow("domain", "Estovar.com");
    EXPECT_TRUE(history.allowed("domain", "estovar.com"));
    EXPECT_EQ(fired(m), Set{});
    m.to = "careers@estovar.com, jobs@halden.co.uk"; // not everyone allowed: judged
    EXPECT_FALSE(fired(m).empty());
    history.allow("address", "jobs@halden.co.uk");
    EXPECT_EQ(fired(m), Set{});
    EXPECT_EQ(history.allow_list().size(), 2u);
    EXPECT_THROW(history.allow("person", "x"), std::invalid_argument);
}
