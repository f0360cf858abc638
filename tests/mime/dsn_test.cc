// dsn_test.cc - delivery status notifications: mime::parse keeps the status
// part and the returned header, parse_delivery_status reads the status.
//
// Fixtures: tests/data/dsn/ (written for these tests: Postfix, Exchange with
// text/rfc822-headers and quoted-printable, RFC 6533 UTF-8 with two
// recipients and no blank line between them, a delay that is no failure)
// and, when ../shared is there, the MIME torture set's real reports
// (delivery-status*.txt, bounce.txt: a report a gateway re-encoded).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "mime/dsn.h"
#include "mime/message.h"

namespace fs = std::filesystem;
using rapport::mime::DeliveryStatus;
using rapport::mime::Message;
using rapport::mime::parse;
using rapport::mime::parse_delivery_status;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Message fixture(const char* name) {
    fs::path p = fs::path(RAPPORT_TEST_DATA) / "dsn" / name;
    EXPECT_TRUE(fs::exists(p)) << p;
    return parse(slurp(p));
}

const fs::path kTorture = fs::path(RAPPORT_SHARED_DIR) / "mime-torture" / "messages";

Message torture(const char* name) {
    return parse(slurp(kTorture / name));
}

} // namespace

TEST(Dsn, PostfixReportKeepsStatusAndReturnedHeaderNotItsBody) {
    Message m = fixture("postfix-unknown-user.eml");
    ASSERT_FALSE(m.delivery_status.empty());
    EXPECT_NE(m.returned_headers.find("Message-ID: <a1b2c3d4.5e6f@example.org>"), std::string::npos);
    EXPECT_EQ(m.returned_headers.find("never be read"), std::string::npos) << "the returned body was kept";
    EXPECT_EQ(parse(m.returned_headers).message_id, "a1b2c3d4.5e6f@example.org");

    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    EXPECT_EQ(ds.reporting_mta, "dns; mail.example.org");
    ASSERT_EQ(ds.recipients.size(), 1u);
    const auto& r = ds.recipients[0];
    EXPECT_EQ(r.final_recipient, "hr@kestrel-analytics.example");
    EXPECT_EQ(r.original_recipient, "HR@Kestrel-Analytics.example");
    EXPECT_EQ(r.action, "failed");
    EXPECT_EQ(r.status, "5.1.1");
    EXPECT_NE(r.diagnostic.find("User unknown"), std::string::npos) << "continuation line unfolded";
    EXPECT_TRUE(r.failed());
    EXPECT_TRUE(ds.problems.empty());
}

TEST(Dsn, ExchangeQuotedPrintableAndHeadersPart) {
    Message m = fixture("exchange-headers-only.eml");
    EXPECT_EQ(parse(m.returned_headers).message_id, "f00dfeed.221@example.net");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 2u);
    EXPECT_EQ(ds.recipients[0].address(), "jobs@brightwater.example");
    EXPECT_TRUE(ds.recipients[0].failed());
    EXPECT_NE(ds.recipients[0].diagnostic.find("AS(201806281)"), std::string::npos) << "QP soft break joined";
    EXPECT_EQ(ds.recipients[1].address(), "careers@brightwater.example");
    EXPECT_EQ(ds.recipients[1].action, "delayed");
    EXPECT_FALSE(ds.recipients[1].failed()) << "a delay is no bounce";
}

TEST(Dsn, GlobalUtf8TwoRecipientsWithoutBlankLine) {
    Message m = fixture("global-utf8.eml");
    EXPECT_EQ(parse(m.returned_headers).message_id, "bewerbung-117@example.de");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 2u);
    EXPECT_EQ(ds.recipients[0].final_recipient, "jürgen.müller@rheinfeld.example");
    EXPECT_EQ(ds.recipients[0].status, "5.1.10");
    EXPECT_EQ(ds.recipients[1].final_recipient, "bewerbung@rheinfeld.example");
    EXPECT_EQ(ds.recipients[1].status, "5.2.2") << "comment after the code dropped";
    EXPECT_TRUE(ds.recipients[1].failed());
}

TEST(Dsn, DelayedIsNotFailed) {
    Message m = fixture("delayed-only.eml");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_FALSE(ds.recipients[0].failed());
}

TEST(Dsn, StatusWithoutActionAndOddSpacing) {
    DeliveryStatus ds = parse_delivery_status("Reporting-MTA: dns;x\r\n\r\n\r\n\r\nOriginal-Recipient:rfc822;<A@B.example>\r\n"
                                              "Status:5.5.0\r\n");
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_EQ(ds.recipients[0].address(), "A@B.example");
    EXPECT_TRUE(ds.recipients[0].failed());
    DeliveryStatus temp = parse_delivery_status("Final-Recipient: rfc822; a@b.example\nStatus: 4.2.2\n");
    ASSERT_EQ(temp.recipients.size(), 1u);
    EXPECT_FALSE(temp.recipients[0].failed());
}

TEST(Dsn, GarbageIsReadWithoutCrashing) {
    for (std::string_view in : {std::string_view(""), std::string_view("\n\n\n"), std::string_view(": : :\n x\n"),
                                std::string_view("Content-Transfer-Encoding: base64\n\n!!!!\n"),
                                std::string_view("Final-Recipient\nAction failed\n")}) {
        DeliveryStatus ds = parse_delivery_status(in);
        EXPECT_TRUE(ds.recipients.empty()) << in;
        EXPECT_FALSE(ds.problems.empty()) << in;
    }
    std::string many;
    for (int i = 0; i < 3000; ++i) many += "Final-Recipient: rfc822; r" + std::to_string(i) + "@x.example\n\n";
    DeliveryStatus ds = parse_delivery_status(many);
    EXPECT_LE(ds.recipients.size(), rapport::mime::kMaxDsnRecipients);
}

TEST(Dsn, OrdinaryMailHasNoReport) {
    Message m = parse("From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n");
    EXPECT_TRUE(m.delivery_status.empty());
    EXPECT_TRUE(m.returned_headers.empty());
    // A forward is no report: its header is not taken for a returned one.
    Message f = parse("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                      "Content-Type: message/rfc822\r\n\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n--b--\r\n");
    EXPECT_TRUE(f.returned_headers.empty());
}

// The status part on its own, as an IMAP client fetches it (BODY[2.MIME] +
// BODY[2]): understood the same, including its transfer encoding.
TEST(Dsn, StatusPartOnItsOwn) {
    Message m = parse("Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      "UmVwb3J0aW5nLU1UQTogZG5zOyBteAoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGpvYnNAYWNtZS5leGFtcGxlCkFjdGlvbjogZmFpbGVkClN0YXR1czogNS4xLjEK\r\n");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_EQ(ds.recipients[0].address(), "jobs@acme.example");
    EXPECT_TRUE(ds.recipients[0].failed());
}

// The MIME torture set's reports (../shared): skipped when it is absent.
class TortureDsn : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(kTorture / "delivery-status.txt")) GTEST_SKIP() << kTorture << " absent";
    }
};

TEST_F(TortureDsn, NetscapeReport) {
    for (const char* name : {"delivery-status.txt", "delivery-status-no-blank-line.txt"}) {
        Message m = torture(name);
        DeliveryStatus ds = parse_delivery_status(m.delivery_status);
        ASSERT_EQ(ds.recipients.size(), 1u) << name;
        EXPECT_EQ(ds.recipients[0].address(), "newsletter-request@imusic.com") << name;
        EXPECT_TRUE(ds.recipients[0].failed()) << name;
        EXPECT_EQ(ds.reporting_mta, "dns; mm1") << name;
        EXPECT_EQ(parse(m.returned_headers).message_id, "31FC7EB4.41C6@netscape.com") << name;
    }
}

TEST_F(TortureDsn, MultipleBlankLinesAndNoAction) {
    Message m = torture("delivery-status-multiple-blank-lines.txt");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_EQ(ds.recipients[0].original_recipient, "orig_recip@customer.com");
    EXPECT_EQ(ds.recipients[0].status, "5.5.0");
    EXPECT_TRUE(ds.recipients[0].failed());
    EXPECT_TRUE(m.returned_headers.empty());
}

TEST_F(TortureDsn, EximActionBeforeRecipient) {
    Message m = torture("delivery-status2.txt");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_EQ(ds.recipients[0].address(), "source@domain.com");
    EXPECT_EQ(ds.recipients[0].status, "5.0.0");
    EXPECT_TRUE(ds.recipients[0].failed());
    EXPECT_NE(m.returned_headers.find("Return-path: <delivery@domain.fr>"), std::string::npos);
    EXPECT_EQ(m.returned_headers.find("TEXTE"), std::string::npos) << "the returned body was kept";
}

TEST_F(TortureDsn, GatewayReencodedReport) {
    Message m = torture("bounce.txt");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_EQ(ds.recipients[0].final_recipient, "netec.test@netecgc.com");
    EXPECT_EQ(ds.recipients[0].status, "5.1.1");
    EXPECT_TRUE(ds.recipients[0].failed());
    EXPECT_EQ(ds.reporting_mta, "dns; hmail.jitbit.com");
    EXPECT_EQ(parse(m.returned_headers).message_id,
              "44565655.JitbitHelpdesk.13439.691a0afc-a0a0-457c-8208-f20b7c4a4cb1@jitbit.com");
}

TEST_F(TortureDsn, AnonymisedReportIsNoFailure) {
    Message m = torture("delivery-status.anonymized.eml");
    DeliveryStatus ds = parse_delivery_status(m.delivery_status);
    ASSERT_EQ(ds.recipients.size(), 1u);
    EXPECT_FALSE(ds.recipients[0].failed()) << "Action: xxxxxx is not 'failed'";
}
