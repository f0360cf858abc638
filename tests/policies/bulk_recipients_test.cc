// bulk-recipients: one application to several employers at once.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, ThreeFirmsAreThreeParties) {
    Mail m;
    m.to = "jobs@brightwater.co.uk, careers@halden.co.uk";
    m.bcc = "recruitment@corvana.com";
    m.body = kLongBody;
    m.attachments = {"CV.pdf"};
    EXPECT_TRUE(fired(m).count("bulk-recipients"));
}

TEST_F(Rules, SameFirmTwiceAndOwnDomainAreNotParties) {
    Mail m;
    m.from = "Amelia Clark <amelia@ameliaclark.co.uk>";
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.cc = "Sam Jones <sam.jones@mail.halden.co.uk>, studio@ameliaclark.co.uk";
    m.body = kLongBody;
    m.attachments = {"CV.pdf"};
    EXPECT_FALSE(fired(m).count("bulk-recipients"));
}

TEST_F(Rules, FreeMailAddressesAreEachAParty) {
    Mail m;
    m.to = "Beth Bell <thecoffeenook@outlook.com>, Priya Kaur <priyaskitchen@yahoo.co.uk>, "
           "Mark Stone <hilltopcafe@gmail.com>";
    m.subject = "Saturday job - cafe assistant";
    m.body = "Dear Beth, Priya and Mark,\n\nI'm looking for a Saturday job as a cafe assistant and wondered whether "
             "any of you has a vacancy. Beth, you said you might need someone.\n\nBest wishes,\nElla\n";
    EXPECT_EQ(fired(m), Set{"bulk-recipients"});
}

TEST_F(Rules, PublicSuffixesSeparateFirms) {
    EXPECT_EQ(rp::registrable_domain("mail.logimax.com.pl"), "logimax.com.pl");
    EXPECT_EQ(rp::registrable_domain("dwp.gov.uk"), "dwp.gov.uk");
    EXPECT_EQ(rp::registrable_domain("halden.co.uk"), "halden.co.uk");
    EXPECT_TRUE(rp::is_freemail("yahoo.co.uk"));
    EXPECT_TRUE(rp::is_freemail("wp.pl"));
    EXPECT_FALSE(rp::is_freemail("halden.co.uk"));
}
