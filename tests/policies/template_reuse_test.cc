// template-reuse: the same letter, names swapped, to five people or more.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, TemplateFiresAtTheFifthDistinctRecipient) {
    const char* names[] = {"Ann", "Ben", "Cara", "Dev", "Eve", "Finn"};
    const char* orgs[] = {"Acme", "Birch", "Cedar", "Delta", "Ember", "Fjord"};
    for (int i = 0; i < 6; ++i) {
        auto got = fired(templated(names[i], orgs[i], 3 + i));
        EXPECT_EQ(got.count("template-reuse") > 0, i >= 4) << i;
    }
}

TEST_F(Rules, ResendingToTheSameRecipientAddsNoOne) {
    for (int i = 0; i < 6; ++i) EXPECT_FALSE(fired(templated("Ann", "Acme", 3 + i)).count("template-reuse"));
}

TEST_F(Rules, TemplateWindowIsRespected) {
    const char* names[] = {"Ann", "Ben", "Cara", "Dev"};
    const char* orgs[] = {"Acme", "Birch", "Cedar", "Delta"};
    for (int i = 0; i < 4; ++i) fired(templated(names[i], orgs[i], 1 + i));
    Mail late = templated("Eve", "Ember", 1);
    late.date = "Mon, 5 May 2025 09:00:00 +0000"; // 60 days on
    EXPECT_FALSE(fired(late).count("template-reuse"));
}

TEST_F(Rules, OneMessageToManyNeverFiresTemplateByItself) {
    Mail m = templated("Ann", "Acme", 3);
    m.bcc = "a@b1.com, b@b2.com, c@b3.com, d@b4.com, e@b5.com";
    EXPECT_FALSE(fired(m).count("template-reuse"));
    // ...but its recipients count for a later separate send of the same text.
    EXPECT_TRUE(fired(templated("Ben", "Birch", 4)).count("template-reuse"));
}

TEST_F(Rules, DifferentLettersAreNotATemplate) {
    const char* bodies[] = {
        "I loved your talk on retrofit at Leeds Sustainability Week and want to join the building physics team.",
        "Your Holbeck community hub is one of my favourite buildings and I'd like the bid coordinator role.",
        "Your neighbours' solar panels made me want to apply for the operations coordinator post.",
        "I saw on site that you've started phase 2 of Kirkstall Forge and want the assistant PM vacancy.",
        "The schools programme you described on the phone is exactly the kind of work I want to apply for.",
    };
    for (int i = 0; i < 5; ++i) {
        Mail m;
        m.to = "p" + std::to_string(i) + ".q@firm" + std::to_string(i) + ".com";
        m.body = std::string("Dear Hiring Manager,\n\n") + bodies[i] +
                 " I have spent the last three years as a project support officer at Leeds City Council.\n\n"
                 "Best wishes,\nGrace\n";
        EXPECT_FALSE(fired(m).count("template-reuse")) << i;
    }
}
