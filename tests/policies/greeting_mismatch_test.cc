// greeting-mismatch: the greeting names someone who is not a recipient.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, WrongNameInGreeting) {
    Mail m;
    m.to = "Sarah Lee <sarah.lee@ravelstone.co.uk>";
    m.body = "Hi Tom,\n\nI saw the Helpdesk Analyst vacancy on Ravelstone's website and would like to apply.\n\n"
             "Thanks,\nOliver\n";
    EXPECT_EQ(fired(m), Set{"greeting-mismatch"});
}

TEST_F(Rules, GreetingMatchesDisplayNameAddressShortFormAndAccents) {
    Mail m;
    m.body = "Dear Mr Köhler,\n\nI'm applying for the Lagerist post at Lindgrund in Baunatal.\n\nRegards,\nLukas\n";
    m.to = "Jürgen Köhler <jk@lindgrund.de>";
    EXPECT_FALSE(fired(m).count("greeting-mismatch"));
    m.to = "\"Kohler, Jurgen\" <jk@lindgrund.de>";
    EXPECT_FALSE(fired(m).count("greeting-mismatch"));
    m.body = "Hi Dan,\n\nI'm applying for the Lagerist post at Lindgrund.\n\nRegards,\nLukas\n";
    m.to = "daniel.okafor@lindgrund.de";
    EXPECT_FALSE(fired(m).count("greeting-mismatch"));
}

TEST_F(Rules, NoKnownNameNoMismatch) {
    Mail m;
    m.to = "hr@tamberly.co.uk";
    m.body = "Hi Tom,\n\nI'm applying for the Desktop Support Engineer post at Tamberly.\n\nRegards,\nOliver\n";
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, PlaceholderGreetingIsOnlyAPlaceholder) {
    Mail m;
    m.to = "Rachel Hunt <rachel.hunt@tamberly.co.uk>";
    m.body = "Dear {{first_name}},\n\nI'm applying for the Digital Copywriter role at Tamberly.\n\nBest,\nBen\n";
    EXPECT_EQ(fired(m), Set{"unfilled-placeholder"});
}

TEST_F(Rules, UmlautsWrittenEitherWay) {
    Mail m;
    m.to = "Jens Müller <jens.mueller@lindgrund.de>";
    m.body = "Sehr geehrter Herr Mueller,\n\nhiermit bewerbe ich mich bei Lindgrund als Lagerist.\n\nMit freundlichen Grüßen\nLukas\n";
    EXPECT_EQ(fired(m), Set{});
}
