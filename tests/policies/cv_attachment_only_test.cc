// cv-attachment-only: a CV attached and nothing said of what it is for.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, CvWithStockLineOnlyFires) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.body = "Dear Ms Shah,\n\nPlease find attached my CV for the team leader post at Halden.\n\nKind regards,\nJake\n";
    m.attachments = {"Jake Turner - Lebenslauf.pdf"};
    EXPECT_EQ(fired(m), Set{"cv-attachment-only"});
}

TEST_F(Rules, CvNamedOnlyByTheTextCounts) {
    Mail m;
    m.to = "Priya Shah <priya.shah@halden.co.uk>";
    m.body = "Hi Priya,\n\nMy CV for the Halden role is attached.\n\nBest,\nJake\n";
    m.attachments = {"document1.pdf"};
    EXPECT_EQ(fired(m), Set{"cv-attachment-only"});
}

TEST_F(Rules, CvGluedIntoAFileNameIsFound) {
    EXPECT_TRUE(rp::is_cv_filename("MeganPriceCV.pdf"));
    EXPECT_TRUE(rp::is_cv_filename("Życiorys_Katarzyna_Nowak.pdf"));
    EXPECT_TRUE(rp::is_cv_filename("Tariq_Osman_Résumé.pdf"));
    EXPECT_TRUE(rp::is_cv_filename("Curriculum_Vitae_José.pdf"));
    EXPECT_FALSE(rp::is_cv_filename("Cover_Letter.pdf"));
    EXPECT_FALSE(rp::is_cv_filename("portfolio.pdf"));
}

TEST_F(Rules, CoverLetterAloneIsNotACv) {
    Mail m;
    m.to = "Grace Akande <grace.akande@grantley.co.uk>";
    m.subject = "Receptionist role at Grantley";
    m.body = "Dear Ms Akande,\n\nI'd like to apply for the Grantley receptionist role. My cover letter is attached.\n\n"
             "Best wishes,\nLena\n";
    m.attachments = {"Cover_Letter_Lena_Novak.pdf"};
    EXPECT_EQ(fired(m), Set{});
}

TEST_F(Rules, CvInAReplyIsNotJudged) {
    Mail m;
    m.to = "Claire Dobson <claire.dobson@halden.co.uk>";
    m.subject = "RE: Receptionist application";
    m.extra_headers = "In-Reply-To: <abc@halden.co.uk>\r\n";
    m.body = "Hi Claire,\n\nHere it is again.\n\nThanks,\nNadia\n";
    m.attachments = {"Nadia_CV.pdf"};
    EXPECT_EQ(fired(m), Set{});
}
