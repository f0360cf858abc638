// model_json_test.cc - to_json() keys and describe() for rapportctl inspect.

#include <gtest/gtest.h>

#include "mime/message.h"
#include "mime/model_json.h"

using rapport::mime::parse;

TEST(ModelJson, KeysAndValues) {
    auto m = parse("From: \"Kowalska, Anna\" <anna@example.pl>\nTo: b@example.com\nSubject: Hi\n"
                   "Date: Mon, 3 Mar 2025 09:12:40 +0100\nMessage-ID: <x@y>\n"
                   "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nHello\n"
                   "--b\nContent-Type: application/pdf; name=cv.pdf\n\n%PDF-1.4\n--b--\n");
    auto j = rapport::mime::to_json(m);
    EXPECT_EQ(j["subject"], "Hi");
    EXPECT_EQ(j["from"][0]["name"], "Kowalska, Anna");
    EXPECT_EQ(j["date"], 1740989560);
    EXPECT_EQ(j["date_utc"], "2025-03-03T08:12:40Z");
    EXPECT_EQ(j["message_id"], "x@y");
    EXPECT_EQ(j["text"], "Hello");
    EXPECT_EQ(j["attachments"][0]["filename"], "cv.pdf");
    EXPECT_EQ(j["attachments"][0]["sniffed_type"], "application/pdf");
    EXPECT_EQ(j["attachments"][0]["size"], 8); // the line break before "--b" is the delimiter's
    EXPECT_TRUE(j["problems"].empty());
    EXPECT_TRUE(j["date"].is_number());
    EXPECT_TRUE(rapport::mime::to_json(parse("Subject: x\n\ny")).at("date").is_null());
}

TEST(ModelJson, DescribeIsReadable) {
    auto m = parse("From: Anna <anna@example.pl>\nSubject: Hi\n\nLine one\nLine two\n");
    std::string d = rapport::mime::describe(m);
    EXPECT_NE(d.find("Subject:  Hi\n"), std::string::npos);
    EXPECT_NE(d.find("From:     Anna <anna@example.pl>\n"), std::string::npos);
    EXPECT_NE(d.find("| Line one\n| Line two\n"), std::string::npos);
    EXPECT_NE(d.find("Date:     (none)"), std::string::npos);
}
