// Unit tests for daemon/lib/relay: what leaves is the sender's message.

#include "daemon/lib/notices.h"
#include "daemon/lib/relay.h"

#include <gtest/gtest.h>

using namespace rapport::daemon;

TEST(PrepareForRelay, DropsBccAndConfirmHeaderWithFolds) {
    std::string in = "From: a@b\r\nBcc: x@y,\r\n z@w\r\nX-Rapport-Confirm: 123\r\nSubject: s\r\n"
                     " folded\r\nMessage-ID: <m@b>\r\n\r\nBcc: in the body stays\r\n";
    EXPECT_EQ(prepare_for_relay(in),
              "From: a@b\r\nSubject: s\r\n folded\r\nMessage-ID: <m@b>\r\n\r\nBcc: in the body stays\r\n");
}

TEST(PrepareForRelay, NormalisesLineEnds) {
    EXPECT_EQ(prepare_for_relay("A: 1\n\nbody\rmore\r\nend"), "A: 1\r\n\r\nbody\r\nmore\r\nend");
}

TEST(PrepareForRelay, BodyUntouched) {
    std::string in = "Subject: x\r\n\r\n.dot\r\n..two\r\n\r\n  spaces  \r\n";
    EXPECT_EQ(prepare_for_relay(in), in);
}

TEST(FailureNotice, NamesRecipientsAndQuotesHeaderOnly) {
    std::string n = failure_notice("mx.example", "ID1", "ben@example.org",
                                   {{"anna@example.net", "failed", 550, "550 no such user"}},
                                   "Subject: hi\r\nFrom: ben@example.org\r\n\r\nsecret body\r\n");
    EXPECT_NE(n.find("To: <ben@example.org>"), std::string::npos);
    EXPECT_NE(n.find("<anna@example.net>: 550 no such user"), std::string::npos);
    EXPECT_NE(n.find("Subject: hi"), std::string::npos);
    EXPECT_EQ(n.find("secret body"), std::string::npos);
    EXPECT_NE(n.find("Auto-Submitted: auto-replied"), std::string::npos);
}
