// Unit tests for daemon/lib/smtp_protocol: command and path parsing, strict
// DATA framing (the smuggling variants), un-stuffing, limits, base64.

#include "daemon/lib/smtp_protocol.h"

#include <gtest/gtest.h>

#include <random>

using namespace rapport::daemon::smtp;

TEST(ParseCommand, VerbIsUpperCasedArgKept) {
    auto c = parse_command("mail FROM:<Ann@Example.org> SIZE=10");
    EXPECT_EQ(c.verb, "MAIL");
    EXPECT_EQ(c.arg, "FROM:<Ann@Example.org> SIZE=10");
    EXPECT_EQ(parse_command("QUIT").arg, "");
    EXPECT_EQ(parse_command("EHLO host  ").arg, "host");
}

TEST(ParsePath, BracketedWithParams) {
    auto p = parse_path("FROM:<a@b.org> SIZE=123 body=8BITMIME", "FROM");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->address, "a@b.org");
    EXPECT_EQ(p->params.at("SIZE"), "123");
    EXPECT_EQ(p->params.at("BODY"), "8BITMIME");
}

TEST(ParsePath, NullSenderAndLenientForms) {
    EXPECT_EQ(parse_path("FROM:<>", "FROM")->address, "");
    EXPECT_EQ(parse_path("FROM: <a@b>", "FROM")->address, "a@b");
    EXPECT_EQ(parse_path("to:a@b", "TO")->address, "a@b");
    EXPECT_EQ(parse_path("TO:<@relay.example:a@b>", "TO")->address, "a@b");
    EXPECT_EQ(parse_path("TO:<\"odd>name\"@b>", "TO")->address, "\"odd>name\"@b");
}

TEST(ParsePath, RefusesControlCharactersAndBadSyntax) {
    std::string why;
    EXPECT_FALSE(parse_path(std::string("FROM:<a\0b@c>", 12), "FROM", &why));
    EXPECT_FALSE(parse_path("FROM:<a\rb@c>", "FROM"));
    EXPECT_FALSE(parse_path("FROM:<a\nb@c>", "FROM"));
    EXPECT_FALSE(parse_path("FROM:<a@b", "FROM"));
    EXPECT_FALSE(parse_path("FROM:a<b@c>", "FROM"));
    EXPECT_FALSE(parse_path("TO:<a@b>", "FROM"));
    EXPECT_FALSE(parse_path("FROM:<a\x01@b>", "FROM"));
}

// Found by tests/fuzz/smtp_fuzz: "@a:@b:c@d" came out as "@b:c@d", still a
// source route, so the proxy checked one recipient and the next hop, which
// strips it, delivered to another (c@d).
TEST(ParsePath, RefusesARouteLeftAfterStripping) {
    EXPECT_EQ(parse_path("TO:<@a,@b:c@d>", "TO")->address, "c@d");
    std::string why;
    EXPECT_FALSE(parse_path("TO:<@a:@b:c@d>", "TO", &why));
    EXPECT_EQ(why, "bad source route");
    EXPECT_FALSE(parse_path("TO:@a:@b:c@d", "TO"));
}

// Found by tests/fuzz/smtp_fuzz: the route was cut at the first colon even
// inside a quoted string, so <@a"<:<b@c"> gave the address `<b@c"` (a stray
// '<' and an unclosed quote), which the server's mailbox check took.
TEST(ParsePath, RefusesAQuotedRoute) {
    std::string why;
    EXPECT_FALSE(parse_path("TO:<@a\"<:<b@c\">", "TO", &why));
    EXPECT_EQ(why, "bad source route");
    EXPECT_FALSE(parse_path("TO:<@a\"b:c\"@d>", "TO"));
    EXPECT_EQ(parse_path("TO:<@a:\"b:c\"@d>", "TO")->address, "\"b:c\"@d");
}

TEST(MailboxProblem, Basics) {
    EXPECT_EQ(mailbox_problem("a@b.org"), "");
    EXPECT_EQ(mailbox_problem("first.last+tag@sub.example-domain.org"), "");
    EXPECT_EQ(mailbox_problem("Postmaster", true), "");
    EXPECT_NE(mailbox_problem("Postmaster"), "") << "only for RCPT TO";
    EXPECT_NE(mailbox_problem("a@"), "");
    EXPECT_NE(mailbox_problem("@b"), "");
    EXPECT_NE(mailbox_problem("nodomain"), "");
    EXPECT_NE(mailbox_problem("a b@c"), "");
}

// Not RFC 5321 syntax: said so instead of being passed on to the next hop,
// which may read them another way.
TEST(MailboxProblem, RefusesWhatIsNotRfc5321) {
    EXPECT_EQ(mailbox_problem("a@b@c"), "character '@' is not allowed in a domain");
    EXPECT_EQ(mailbox_problem("a@-bad-.com"), "domain label '-bad-' starts or ends with '-'");
    EXPECT_NE(mailbox_problem("a@bad-.com"), "");
    EXPECT_NE(mailbox_problem("a@b..com"), "");
    EXPECT_NE(mailbox_problem("a@b.com."), "");
    EXPECT_NE(mailbox_problem(".a@b.com"), "");
    EXPECT_NE(mailbox_problem("a.@b.com"), "");
    EXPECT_NE(mailbox_problem("a..b@b.com"), "");
    EXPECT_NE(mailbox_problem("a(comment)@b.com"), "");
    EXPECT_NE(mailbox_problem("a@b_c.com"), "");
    EXPECT_NE(mailbox_problem(std::string(65, 'x') + "@b.com"), "") << "local part over 64 octets";
    EXPECT_EQ(mailbox_problem(std::string(64, 'x') + "@b.com"), "");
    EXPECT_NE(mailbox_problem("a@" + std::string(64, 'b') + ".com"), "") << "label over 63 octets";
    EXPECT_NE(mailbox_problem("a@" + std::string(250, 'b')), "");
}

TEST(MailboxProblem, AddressLiterals) {
    EXPECT_EQ(mailbox_problem("a@[192.0.2.1]"), "");
    EXPECT_EQ(mailbox_problem("a@[IPv6:2001:db8::1]"), "");
    EXPECT_NE(mailbox_problem("a@[192.0.2.256]"), "");
    EXPECT_NE(mailbox_problem("a@[192.0.2]"), "");
    EXPECT_NE(mailbox_problem("a@[IPv6:nope]"), "");
    // Found by tests/fuzz/smtp_fuzz: a NUL was taken as atext, and inet_pton
    // stops at one (the server refuses NULs before this; the function must too).
    static const char nul_local[] = "o\0b@example.org"; // strchr("!#...", '\0') is not NULL
    EXPECT_NE(mailbox_problem(std::string(nul_local, sizeof nul_local - 1)), "");
    static const char nul_literal[] = "a@[IPv6:::1\0\x01x]";
    EXPECT_NE(mailbox_problem(std::string(nul_literal, sizeof nul_literal - 1)), "");
    EXPECT_NE(mailbox_problem("a@[192.0.2.1"), "");
}

TEST(MailboxProblem, EightBitNeedsSmtputf8) {
    EXPECT_TRUE(non_ascii("j\xc3\xb6rg@example.org"));
    EXPECT_TRUE(non_ascii("a@b\xc3\xa9.example"));
    EXPECT_FALSE(non_ascii("a@b.example"));
    EXPECT_NE(mailbox_problem("j\xc3\xb6rg@example.org"), "");
}

// Found by tests/fuzz/smtp_fuzz: any address starting with a quote was let
// through with spaces anywhere, e.g. RCPT TO:<"a" b@c> or <"a"@b c>.
TEST(MailboxProblem, SpacesOnlyInsideTheQuotedLocalPart) {
    EXPECT_EQ(mailbox_problem("\"a b\"@example.org"), "");
    EXPECT_EQ(mailbox_problem("\"a\\\" b\"@example.org"), ""); // "a\" b"@example.org
    EXPECT_NE(mailbox_problem("\"a\" b@example.org"), "");
    EXPECT_NE(mailbox_problem("\"a\"@example .org"), "");
    EXPECT_NE(mailbox_problem("\"a b@example.org"), "");     // the quote never closes
    EXPECT_NE(mailbox_problem("\"a@example.org\""), "");    // no domain after the quoted part
    auto p = parse_path("TO:<\"a\" b@example.org>", "TO");
    ASSERT_TRUE(p);
    EXPECT_NE(mailbox_problem(p->address), "");
}

static DataReader read_all(std::string_view in, std::size_t max = 1 << 20, std::size_t line = 1000) {
    DataReader r(max, line);
    r.feed(in);
    return r;
}

TEST(DataReader, EndsOnlyAtCrlfDotCrlfAndUnstuffs) {
    auto r = read_all("Subject: x\r\n\r\n..dot\r\n.a\r\nend\r\n.\r\nNEXT");
    ASSERT_EQ(r.state(), DataReader::State::done);
    EXPECT_EQ(r.message(), "Subject: x\r\n\r\n.dot\r\na\r\nend\r\n");
}

TEST(DataReader, EmptyMessage) {
    auto r = read_all(".\r\n");
    ASSERT_EQ(r.state(), DataReader::State::done);
    EXPECT_EQ(r.message(), "");
}

TEST(DataReader, ReportsBytesUsedSoPipelinedCommandsSurvive) {
    DataReader r(1000, 1000);
    std::string in = "a\r\n.\r\nMAIL FROM:<x@y>\r\n";
    auto used = r.feed(in);
    EXPECT_EQ(in.substr(used), "MAIL FROM:<x@y>\r\n");
}

TEST(DataReader, ByteAtATime) {
    DataReader r(1000, 1000);
    std::string in = "hi\r\n..\r\n.\r\n";
    for (char c : in) r.feed(std::string_view(&c, 1));
    ASSERT_EQ(r.state(), DataReader::State::done);
    EXPECT_EQ(r.message(), "hi\r\n.\r\n");
}

// CVE-2023-51764 and friends: each of these must be a framing error, never an end.
class Smuggling : public ::testing::TestWithParam<const char*> {};
TEST_P(Smuggling, IsRefused) {
    std::string in = std::string("Subject: x\r\n\r\nhello") + GetParam() + "MAIL FROM:<evil@x>\r\n.\r\n";
    auto r = read_all(in);
    EXPECT_EQ(r.state(), DataReader::State::bare_eol);
}
INSTANTIATE_TEST_SUITE_P(AllEight, Smuggling,
                         ::testing::Values("\n.\n", "\r.\r", "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n",
                                           "\r\n.\r"));

TEST(DataReader, SizeLimitDropsButKeepsReading) {
    auto r = read_all(std::string(100, 'x') + "\r\n.\r\n", 50);
    EXPECT_EQ(r.state(), DataReader::State::done);
    EXPECT_TRUE(r.too_big());
    EXPECT_TRUE(r.message().empty());
}

TEST(DataReader, LineLimit) {
    auto r = read_all(std::string(20, 'x') + "\r\n.\r\n", 1000, 10);
    EXPECT_EQ(r.state(), DataReader::State::done);
    EXPECT_TRUE(r.line_too_long());
}

TEST(Base64, RoundTripAndRejects) {
    EXPECT_EQ(base64_encode(std::string("\0jake\0pw", 8)), "AGpha2UAcHc=");
    EXPECT_EQ(*base64_decode("AGpha2UAcHc="), std::string("\0jake\0pw", 8));
    EXPECT_EQ(*base64_decode(""), "");
    EXPECT_FALSE(base64_decode("AGp!"));
    EXPECT_FALSE(base64_decode("AGp"));
}

TEST(MultilineReply, SplitsLinesAndMarksContinuation) {
    EXPECT_EQ(multiline_reply(550, "5.7.1", {"one", "two\nthree"}),
              "550-5.7.1 one\r\n550-5.7.1 two\r\n550 5.7.1 three\r\n");
    EXPECT_EQ(multiline_reply(250, "2.0.0", {}), "250 2.0.0\r\n");
}

// The byte-at-a-time reader DataReader::feed replaced (it now copies runs
// of line content at once): same rules, kept here as the reference.
namespace {
struct ReferenceReader {
    ReferenceReader(std::size_t size, std::size_t line) : max_size(size), max_line(line) {}
    std::size_t max_size, max_line;
    DataReader::State state = DataReader::State::reading;
    std::string msg;
    std::size_t line_len = 0, received = 0;
    bool at_line_start = true, after_cr = false, dot_line = false, too_big = false, line_too_long = false;
    std::size_t feed(std::string_view in) {
        std::size_t i = 0;
        auto append = [&](char c) {
            if (too_big) return;
            if (msg.size() >= max_size) {
                too_big = true;
                msg.clear();
                return;
            }
            msg.push_back(c);
        };
        while (i < in.size() && state == DataReader::State::reading) {
            char c = in[i++];
            ++received;
            if (after_cr) {
                after_cr = false;
                if (c != '\n') { state = DataReader::State::bare_eol; break; }
                if (dot_line) { state = DataReader::State::done; break; }
                append('\r');
                append('\n');
                at_line_start = true;
                line_len = 0;
                continue;
            }
            if (c == '\n') { state = DataReader::State::bare_eol; break; }
            if (c == '\r') { after_cr = true; continue; }
            if (++line_len > max_line) line_too_long = true;
            if (at_line_start) {
                at_line_start = false;
                if (c == '.') { dot_line = true; continue; }
            }
            dot_line = false;
            append(c);
        }
        return i;
    }
};
} // namespace

TEST(DataReader, SameAsByteAtATimeOnRandomStreams) {
    std::mt19937 rng(20261126);
    const char alphabet[] = {'a', 'b', '.', '.', '\r', '\n', ' ', 'x', '\0', '\xff'};
    for (int round = 0; round < 20000; ++round) {
        // Mostly well-formed lines (CRLF, stuffed dots, a final dot), with
        // random bytes mixed in, so every state and limit is reached.
        std::string s;
        int lines = static_cast<int>(rng() % 12);
        for (int l = 0; l < lines; ++l) {
            int len = static_cast<int>(rng() % 40);
            for (int k = 0; k < len; ++k)
                s += rng() % 4 ? static_cast<char>('A' + rng() % 26) : alphabet[rng() % sizeof alphabet];
            s += rng() % 10 ? "\r\n" : (rng() % 2 ? "\n" : "\r");
        }
        if (rng() % 3) s += ".\r\n";
        s += "NOOP\r\n";
        std::size_t max_size = 1 + rng() % 300, max_line = 1 + rng() % 50;
        DataReader got(max_size, max_line);
        ReferenceReader want(max_size, max_line);
        // Fed in random pieces, as TCP delivers them.
        std::size_t pos = 0;
        while (pos < s.size()) {
            std::size_t n = 1 + rng() % 17;
            std::string_view piece(s.data() + pos, std::min(n, s.size() - pos));
            std::size_t a = got.feed(piece), b = want.feed(piece);
            ASSERT_EQ(a, b) << "round " << round;
            pos += a;
            if (got.state() != DataReader::State::reading) break;
        }
        ASSERT_EQ(got.state(), want.state) << "round " << round;
        ASSERT_EQ(got.too_big(), want.too_big) << "round " << round;
        ASSERT_EQ(got.line_too_long(), want.line_too_long) << "round " << round;
        ASSERT_EQ(got.received(), want.received) << "round " << round;
        if (!want.too_big) {
            ASSERT_EQ(got.message(), want.msg) << "round " << round;
        }
    }
}

// RFC 5321 2.3.8 and 8BITMIME allow no NUL in a message; the next hop may
// end a line (or the message) there.
TEST(DataReader, FlagsANul) {
    static const char with_nul[] = "Subject: x\r\n\r\nbefore\0after\r\n.\r\n";
    auto r = read_all(std::string(with_nul, sizeof with_nul - 1));
    ASSERT_EQ(r.state(), DataReader::State::done);
    EXPECT_TRUE(r.has_nul());
    EXPECT_FALSE(read_all("Subject: x\r\n\r\nclean\r\n.\r\n").has_nul());
    // A NUL after the final dot is the next command's business, not the message's.
    static const char after[] = "Subject: x\r\n\r\nclean\r\n.\r\nNOOP\0\r\n";
    std::string in(after, sizeof after - 1);
    DataReader d(1 << 20, 1000);
    auto used = d.feed(in);
    EXPECT_EQ(d.state(), DataReader::State::done);
    EXPECT_FALSE(d.has_nul());
    EXPECT_EQ(in.substr(used), std::string("NOOP\0\r\n", 7));
    // Fed a byte at a time too.
    DataReader b(1 << 20, 1000);
    std::string nul("a\0b\r\n.\r\n", 8);
    for (char c : nul) b.feed(std::string_view(&c, 1));
    EXPECT_TRUE(b.has_nul());
}
