// parse_test.cc - mime::parse() on hand-written inputs, one decoding case each.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "mime/charset.h"
#include "mime/html_text.h"
#include "mime/sniff.h"
#include "mime/transfer.h"
#include "mime/message.h"
#include "mime/model_json.h"

using rapport::mime::Address;
using rapport::mime::Message;
using rapport::mime::parse;

namespace {

std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Parses the LF and the CRLF form and checks both give the same model.
Message both(const std::string& lf) {
    Message a = parse(lf);
    Message b = parse(crlf(lf));
    EXPECT_EQ(rapport::mime::to_json(a).dump(), rapport::mime::to_json(b).dump()) << "LF and CRLF differ";
    return a;
}

const char* kHead = "From: a@example.org\nTo: b@example.com\nSubject: t\nMIME-Version: 1.0\n";

} // namespace

TEST(Headers, Rfc2047QAndB) {
    Message m = both(std::string("From: =?UTF-8?Q?Zo=C3=AB_Smith?= <zoe@example.org>\n"
                                 "To: =?ISO-8859-2?B?UGF3ZcWC?= <p@example.pl>, =?iso-8859-2?q?Pawe=B3_Nowak?= <pn@example.pl>\n"
                                 "Subject: =?utf-8?B?QmV3ZXJidW5nIGFscyBGYWNoa3JhZnQ=?= =?utf-8?Q?_f=C3=BCr_Lager?=\n"
                                 "\nbody\n"));
    EXPECT_EQ(m.subject, "Bewerbung als Fachkraft für Lager");
    ASSERT_EQ(m.from.size(), 1u);
    EXPECT_EQ(m.from[0].name, "Zoë Smith");
    EXPECT_EQ(m.from[0].address, "zoe@example.org");
    ASSERT_EQ(m.to.size(), 2u);
    EXPECT_EQ(m.to[1].name, "Paweł Nowak");
    EXPECT_EQ(m.header("subject"), "Bewerbung als Fachkraft für Lager");
    EXPECT_TRUE(m.problems.empty());
}

TEST(Headers, Raw8BitUtf8AndLatin1) {
    Message m = both("From: José García <jose@example.es>\nSubject: Candidature spontanée\n\nx\n");
    EXPECT_EQ(m.from.at(0).name, "José García");
    EXPECT_EQ(m.subject, "Candidature spontanée");
    Message l = parse("Subject: Bewerbung f\xFCr Sie\n\nx\n");
    EXPECT_EQ(l.subject, "Bewerbung für Sie");
}

TEST(Headers, QuotedNamesGroupsComments) {
    Message m = both("From: \"Kowalska, Anna\" <anna.kowalska@example.pl>\n"
                     "To: Recruiting: \"Osei, Kwame\" <k.osei@acme.co.uk>, hr@acme.co.uk;, "
                     "declan@example.ie (Declan Byrne)\n"
                     "Cc: undisclosed-recipients:;\n"
                     "Bcc: \"=?UTF-8?Q?J=C3=BCrgen?= M.\" <jm@example.de>\n"
                     "Reply-To: <reply@example.org>\n"
                     "\nx\n");
    ASSERT_EQ(m.from.size(), 1u);
    EXPECT_EQ(m.from[0].name, "Kowalska, Anna");
    EXPECT_EQ(m.from[0].local_part(), "anna.kowalska");
    EXPECT_EQ(m.from[0].domain(), "example.pl");
    ASSERT_EQ(m.to.size(), 3u);
    EXPECT_EQ(m.to[0], (Address{"Osei, Kwame", "k.osei@acme.co.uk"}));
    EXPECT_EQ(m.to[1].address, "hr@acme.co.uk");
    EXPECT_EQ(m.to[2].address, "declan@example.ie");
    EXPECT_TRUE(m.cc.empty());
    ASSERT_EQ(m.bcc.size(), 1u);
    EXPECT_EQ(m.bcc[0].name, "Jürgen M.");
    EXPECT_EQ(m.reply_to.at(0).address, "reply@example.org");
    auto r = m.recipients();
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[3].address, "jm@example.de");
}

TEST(Headers, UnquotedDotsFallBack) {
    // Invalid (unquoted '.' in a phrase) but what some clients send.
    Message m = parse("To: J. R. Smith <jr@example.com>, Dr. No <no@example.com>\n\nx\n");
    ASSERT_EQ(m.to.size(), 2u);
    EXPECT_EQ(m.to[0].name, "J. R. Smith");
    EXPECT_EQ(m.to[1].address, "no@example.com");
}

TEST(Headers, DateZonesAndIds) {
    Message m = both("Date: Mon, 3 Mar 2025 09:12:40 +0100\nMessage-ID: <abc@x.example>\n"
                     "In-Reply-To: <one@x> <two@x>\nReferences: <r1@x>\n <r2@x>\n\nx\n");
    ASSERT_TRUE(m.date);
    EXPECT_EQ(*m.date, 1740989560); // 2025-03-03T08:12:40Z
    EXPECT_EQ(m.message_id, "abc@x.example");
    EXPECT_EQ(m.in_reply_to, "one@x");
    EXPECT_EQ(m.references, (std::vector<std::string>{"r1@x", "r2@x"}));
    Message e = parse("Date: 3 Mar 2025 03:12:40 EST\n\nx\n");
    ASSERT_TRUE(e.date);
    EXPECT_EQ(*e.date, 1740989560);
    for (const char* d : {"Mon, 3 Mar 2025 08:12:40 UT", "Monday, 3 March 2025 08:12:40 +0000",
                          "3 Mar 25 09:12:40 +0100 (CET)", "Mon, 3 Mar 2025 08:12:40 GMT"}) {
        Message x = parse(std::string("Date: ") + d + "\n\nx\n");
        ASSERT_TRUE(x.date) << d;
        EXPECT_EQ(*x.date, 1740989560) << d;
    }
    Message bad = parse("Date: yesterday\n\nx\n");
    EXPECT_FALSE(bad.date);
    Message none = parse("Subject: x\n\nx\n");
    EXPECT_FALSE(none.date);
}

TEST(Headers, FoldedAndListed) {
    Message m = both("Subject: a long\n  folded subject\nX-Mailer: Foo 1.0\nX-Empty:\n\nx\n");
    EXPECT_EQ(m.subject, "a long  folded subject");
    ASSERT_EQ(m.headers.size(), 3u);
    EXPECT_EQ(m.headers[1].first, "X-Mailer");
    EXPECT_EQ(m.header("x-mailer"), "Foo 1.0");
    EXPECT_EQ(m.header("X-Nothing"), "");
}

TEST(Params, Rfc2231ContinuationsAndCharset) {
    auto p = rapport::mime::detail::parse_params(
        " name=\"x.pdf\";\n filename*0*=UTF-8''Lebenslauf_Sch%C3%A4fer;\n filename*1*=%20Bewerbung;"
        " filename*2=\".pdf\"");
    std::string fn;
    for (auto& x : p)
        if (x.name == "filename") fn = x.value;
    EXPECT_EQ(fn, "Lebenslauf_Schäfer Bewerbung.pdf");
    auto q = rapport::mime::detail::parse_params("filename*=iso-8859-1'fr'CV%20Chlo%E9.pdf");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].value, "CV Chloé.pdf");
}

TEST(Attachments, FilenameForms) {
    std::string raw = std::string(kHead) +
                      "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nHi\n"
                      "--b\nContent-Type: application/pdf;\n name=\"=?UTF-8?Q?CV_Zo=C3=AB.pdf?=\"\n"
                      "Content-Disposition: attachment;\n filename=\"=?UTF-8?Q?CV_Zo=C3=AB.pdf?=\"\n"
                      "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
                      "--b\nContent-Type: application/msword; name=\"only-name.doc\"\n\nabc\n"
                      "--b\nContent-Type: application/pdf\nContent-Disposition: attachment;\n"
                      " filename*0*=UTF-8''%C5%BByciorys;\n filename*1=\"_Nowak.pdf\"\n\n%PDF-1.4\n"
                      "--b--\n";
    Message m = both(raw);
    EXPECT_EQ(m.text, "Hi");
    ASSERT_EQ(m.attachments.size(), 3u);
    EXPECT_EQ(m.attachments[0].filename, "CV Zoë.pdf");
    EXPECT_EQ(m.attachments[0].sniffed_type, "application/pdf");
    EXPECT_EQ(m.attachments[0].size, 9u);
    EXPECT_FALSE(m.attachments[0].is_inline);
    EXPECT_EQ(m.attachments[1].filename, "only-name.doc");
    EXPECT_EQ(m.attachments[1].declared_type, "application/msword");
    EXPECT_EQ(m.attachments[2].filename, "Życiorys_Nowak.pdf");
    EXPECT_TRUE(m.problems.empty());
}

TEST(Text, FormatFlowedDelSp) {
    Message m = both(std::string(kHead) +
                     "Content-Type: text/plain; charset=UTF-8; format=flowed\n\n"
                     "Dear Ms Shah, this line is soft \nbroken here.\n\n> quoted soft \n> line\n>> deeper\n"
                     " From stuffed\n-- \nJake\n");
    EXPECT_EQ(m.text, "Dear Ms Shah, this line is soft broken here.\n\n> quoted soft line\n>> deeper\nFrom stuffed\n-- \nJake\n");
    Message d = parse(std::string(kHead) + "Content-Type: text/plain; format=flowed; delsp=yes\n\n"
                                           "Ein Wort ohne Lee \nrzeichen.\n");
    EXPECT_EQ(d.text, "Ein Wort ohne Leerzeichen.\n");
}

TEST(Text, QuotedPrintableSoftBreaks) {
    Message m = both(std::string(kHead) +
                     "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                     "Gr=C3=BC=C3=9Fe aus K=C3=B6ln, ein sehr langer Satz der umbro=\nchen wird.\n");
    EXPECT_EQ(m.text, "Grüße aus Köln, ein sehr langer Satz der umbrochen wird.\n");
    EXPECT_TRUE(m.problems.empty());
}

TEST(Text, Base64Text) {
    Message m = both(std::string(kHead) + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                                          "SGVsbG8gWm/DqywKCkJlc3Qu\n");
    EXPECT_EQ(m.text, "Hello Zoë,\n\nBest.");
}

TEST(Text, Charsets) {
    Message l2 = both(std::string(kHead) + "Content-Type: text/plain; charset=ISO-8859-2\n"
                                           "Content-Transfer-Encoding: 8bit\n\nDzie\xF1 dobry, \xBFyczenia\n");
    EXPECT_EQ(l2.text, "Dzień dobry, życzenia\n");
    Message w1252 = parse(std::string(kHead) + "Content-Type: text/plain; charset=windows-1252\n\n"
                                               "\x93Quoted\x94 \x80 caf\xE9\n");
    EXPECT_EQ(w1252.text, "“Quoted” € café\n");
    Message w1250 = parse(std::string(kHead) + "Content-Type: text/plain; charset=windows-1250\n\n"
                                               "\x8Ale\xB9 \x9Cwi\xEAto\n");
    EXPECT_EQ(w1250.text, "Šleą święto\n");
    Message none = parse(std::string(kHead) + "\nCaf\xC3\xA9 ok\n");
    EXPECT_EQ(none.text, "Café ok\n");
    Message bad = parse(std::string(kHead) + "Content-Type: text/plain; charset=utf-8\n\nbad \xC3 byte\n");
    EXPECT_EQ(bad.text, "bad \xEF\xBF\xBD byte\n");
    Message unk = parse(std::string(kHead) + "Content-Type: text/plain; charset=x-klingon\n\nqapla\n");
    EXPECT_EQ(unk.text, "qapla\n");
    ASSERT_EQ(unk.problems.size(), 1u);
    EXPECT_NE(unk.problems[0].find("unknown charset"), std::string::npos);
}

TEST(Text, AlternativePrefersPlain) {
    Message m = both(std::string(kHead) + "Content-Type: multipart/alternative; boundary=alt\n\n"
                                          "--alt\nContent-Type: text/html\n\n<p>html</p>\n"
                                          "--alt\nContent-Type: text/plain\n\nplain\n--alt--\n");
    EXPECT_EQ(m.text, "plain");
    EXPECT_FALSE(m.text_from_html);
    EXPECT_TRUE(m.attachments.empty());
    Message e = parse(std::string(kHead) + "Content-Type: multipart/alternative; boundary=alt\n\n"
                                           "--alt\nContent-Type: text/plain\n\n\n"
                                           "--alt\nContent-Type: text/html\n\n<p>only here</p>\n--alt--\n");
    EXPECT_EQ(e.text, "only here");
    EXPECT_TRUE(e.text_from_html);
}

TEST(Html, OutlookMsoNormal) {
    std::string html =
        "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><meta charset=utf-8>"
        "<style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang=EN-GB>"
        "<div class=WordSection1><p class=MsoNormal>Dear Ms Osei,<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>I&#8217;m applying &amp; caf&eacute; &lt;ok&gt; &#x20AC;5<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>Kind regards,<o:p></o:p></p><p class=MsoNormal>Aisha<o:p></o:p></p></div>"
        "<script>alert(1)</script></body></html>";
    Message m = both(std::string(kHead) + "Content-Type: text/html; charset=\"utf-8\"\n\n" + html + "\n");
    EXPECT_TRUE(m.text_from_html);
    EXPECT_EQ(m.text, "Dear Ms Osei,\n\nI’m applying & café <ok> €5\n\nKind regards,\nAisha");
}

TEST(Html, BlocksListsAndQuotes) {
    using rapport::mime::detail::html_to_text;
    EXPECT_EQ(html_to_text("<div>Hi Anna,</div><div><br></div><div>Line two<br>three</div>"),
              "Hi Anna,\n\nLine two\nthree");
    EXPECT_EQ(html_to_text("<p>One</p><p>Two</p>"), "One\n\nTwo");
    EXPECT_EQ(html_to_text("<ul><li>a</li><li>b</li></ul><h1>T</h1><table><tr><td>x</td><td>y</td></tr></table>"),
              "- a\n- b\nT\nx y");
    EXPECT_EQ(html_to_text("<div>Thanks!</div><div class=\"gmail_quote\">On Mon, Anna wrote:<br>"
                           "<blockquote class=\"gmail_quote\">Hello<br>there<blockquote>deep</blockquote></blockquote></div>"),
              "Thanks!\nOn Mon, Anna wrote:\n> Hello\n> there\n>> deep");
    EXPECT_EQ(html_to_text("<head><title>x</title></head><style>p{}</style>a &nbsp;b &unknown; &#0; 1 < 2"),
              "a  b &unknown; \xEF\xBF\xBD 1 < 2");
}

TEST(Forwarded, NestedRfc822) {
    std::string raw = std::string(kHead) +
                      "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nFYI below.\n"
                      "--o\nContent-Type: message/rfc822\n\n"
                      "From: \"Osei, Kwame\" <k@acme.example>\nSubject: =?UTF-8?Q?Stelle_f=C3=BCr_Sie?=\n"
                      "Content-Type: multipart/mixed; boundary=i\n\n"
                      "--i\nContent-Type: text/plain\n\nInner text\n"
                      "--i\nContent-Type: image/png; name=a.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgoAAAAN\n"
                      "--i--\n--o--\n";
    Message m = both(raw);
    EXPECT_EQ(m.text, "FYI below.");
    ASSERT_EQ(m.forwarded.size(), 1u);
    EXPECT_EQ(m.forwarded[0].subject, "Stelle für Sie");
    EXPECT_EQ(m.forwarded[0].from.at(0).name, "Osei, Kwame");
    EXPECT_EQ(m.forwarded[0].text, "Inner text");
    ASSERT_EQ(m.attachments.size(), 1u);
    EXPECT_TRUE(m.attachments[0].in_forwarded);
    EXPECT_EQ(m.attachments[0].sniffed_type, "image/png");
    EXPECT_EQ(m.attachments[0].size, 12u);
}

TEST(Sniff, EachType) {
    using rapport::mime::detail::sniff_type;
    using namespace std::string_literals;
    EXPECT_EQ(sniff_type("%PDF-1.7\n", ""), "application/pdf");
    EXPECT_EQ(sniff_type("\x89PNG\r\n\x1a\n...", ""), "image/png");
    EXPECT_EQ(sniff_type("\xFF\xD8\xFF\xE0", ""), "image/jpeg");
    EXPECT_EQ(sniff_type("GIF89a", ""), "image/gif");
    std::string pk = "PK\x03\x04"s + std::string(26, '\0');
    EXPECT_EQ(sniff_type(pk + "[Content_Types].xml....word/document.xml", ""),
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    EXPECT_EQ(sniff_type(pk + "mimetypeapplication/vnd.oasis.opendocument.textPK", ""),
              "application/vnd.oasis.opendocument.text");
    EXPECT_EQ(sniff_type(pk + "Index/Document.iwa", ""), "application/x-iwork-pages");
    EXPECT_EQ(sniff_type(pk + "data", "central: index.xml"), "application/x-iwork-pages");
    EXPECT_EQ(sniff_type(pk + "data.csv", "PK\x01\x02 data.csv"), "application/zip");
    EXPECT_EQ(sniff_type(pk + "x", "PK\x01\x02 word/document.xml"),
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    EXPECT_EQ(sniff_type("hello", ""), "");
}

TEST(Attachments, Base64SizeWithoutDecoding) {
    using namespace rapport::mime::detail;
    std::string data;
    for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 7 + i / 13);
    // Encode with mimetic-independent reference: decode(encode) checks both ways.
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (std::size_t i = 0; i < data.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(data[i]) << 16;
        if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
        if (i + 2 < data.size()) v |= static_cast<unsigned char>(data[i + 2]);
        b64 += a[(v >> 18) & 63];
        b64 += a[(v >> 12) & 63];
        b64 += i + 1 < data.size() ? a[(v >> 6) & 63] : '=';
        b64 += i + 2 < data.size() ? a[v & 63] : '=';
        if ((b64.size() + 1) % 77 == 0) b64 += "\r\n";
    }
    bool bad = false;
    std::size_t chars = 0;
    EXPECT_EQ(base64_size(b64, &bad, &chars), data.size());
    EXPECT_FALSE(bad);
    EXPECT_EQ(decode_base64(b64), data);
    auto [head, tail] = base64_head_tail(b64, 4096, 16384, chars);
    EXPECT_EQ(head, data.substr(0, 4096));
    EXPECT_EQ(tail, data.substr(data.size() - tail.size()));
    EXPECT_GE(tail.size(), 16384u);
    base64_size("abc!def", &bad);
    EXPECT_TRUE(bad);
}

TEST(Malformed, BadBase64IsReported) {
    Message m = parse(std::string(kHead) + "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nhi\n"
                                           "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
                                           "JVBER!!i0x\n--b--\n");
    ASSERT_FALSE(m.problems.empty());
    EXPECT_NE(m.problems[0].find("bad base64"), std::string::npos);
    EXPECT_EQ(m.attachments.size(), 1u);
}

TEST(Malformed, BoundaryNeverClosedAndTruncated) {
    Message m = both(std::string(kHead) + "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\nstill read\n"
                                          "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x");
    EXPECT_EQ(m.text, "still read");
    ASSERT_EQ(m.attachments.size(), 1u);
    EXPECT_EQ(m.attachments[0].sniffed_type, "application/pdf");
    ASSERT_EQ(m.problems.size(), 1u);
    EXPECT_NE(m.problems[0].find("never closed"), std::string::npos);
}

TEST(Malformed, MissingBoundaryParameter) {
    Message m = both(std::string(kHead) + "Content-Type: multipart/mixed\n\n--guess\n\ntext here\n--guess--\n");
    EXPECT_EQ(m.text, "text here");
    ASSERT_FALSE(m.problems.empty());
    EXPECT_NE(m.problems[0].find("without boundary"), std::string::npos);
    Message w = parse(std::string(kHead) + "Content-Type: multipart/mixed; boundary=zzz\n\n--other\n\ntext\n");
    EXPECT_NE(w.problems.at(0).find("never found"), std::string::npos);
}

TEST(Malformed, DepthBombFinishesFast) {
    std::string raw = std::string(kHead);
    const int n = 10000;
    for (int i = 0; i < n; ++i) raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
    raw += "Content-Type: text/plain\n\ndeep\n";
    for (int i = n - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\n";
    auto t0 = std::chrono::steady_clock::now();
    Message m = parse(raw);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 2000);
    bool depth = false;
    for (auto& p : m.problems) depth |= p.find("depth limit") != std::string::npos;
    EXPECT_TRUE(depth);
    // Same boundary at every level, and nested message/rfc822.
    std::string same = std::string(kHead);
    for (int i = 0; i < n; ++i) same += "Content-Type: message/rfc822\n\n";
    same += "\nx\n";
    Message s = parse(same);
    EXPECT_FALSE(s.problems.empty());
}

TEST(Malformed, PartLimit) {
    std::string raw = std::string(kHead) + "Content-Type: multipart/mixed; boundary=b\n\n";
    for (int i = 0; i < 3000; ++i) raw += "--b\nContent-Type: image/gif\n\nGIF89a\n";
    raw += "--b--\n";
    Message m = parse(raw);
    EXPECT_LE(m.attachments.size(), 1000u);
    EXPECT_NE(m.problems.at(0).find("part limit"), std::string::npos);
}

TEST(Malformed, TextLimit) {
    rapport::mime::Limits lim;
    lim.max_text_bytes = 10;
    Message m = parse(std::string(kHead) + "\n\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9 more\n", lim);
    EXPECT_EQ(m.text, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
    EXPECT_FALSE(m.problems.empty());
}

TEST(Malformed, GarbageNeverThrows) {
    for (std::string s : {std::string(), std::string("\n"), std::string(":"), std::string("\r\r\n\n--"),
                          std::string("Content-Type: multipart/x; boundary=\"\"\n\n--\n--\n"),
                          std::string("Content-Type: text/html\n\n<<<&#xFFFFFFFF;&#55296;<a href='"),
                          std::string("To: <<<@>>>, \"unterminated\n\n")}) {
        Message m = parse(s);
        (void)rapport::mime::to_json(m).dump();
        (void)rapport::mime::describe(m);
    }
}

TEST(Malformed, BomAndBrokenContinuation) {
    Message bom = parse("\xEF\xBB\xBFSubject: with BOM\nFrom: a@example.org\n\nhi\n");
    EXPECT_EQ(bom.subject, "with BOM");
    EXPECT_EQ(bom.text, "hi\n");
    Message broken = parse("Subject: s\nX-Long: first half\nsecond half without blank\nFrom: a@example.org\n\nbody\n");
    EXPECT_EQ(broken.header("X-Long"), "first halfsecond half without blank");
    EXPECT_EQ(broken.from.at(0).address, "a@example.org");
    EXPECT_EQ(broken.text, "body\n");
    // No blank line after the header: the body starts at the first non-field line.
    Message nobreak = parse("Subject: s\nThis is the body.\nSecond line.\n");
    EXPECT_EQ(nobreak.text, "This is the body.\nSecond line.\n");
    EXPECT_FALSE(nobreak.problems.empty());
}

TEST(Text, GarbageCharsetNameIsUnknown) {
    Message m = parse(std::string(kHead) + "Content-Type: text/plain; charset=\"utf-8//IGNORE\"\n\nok \xE9\n");
    EXPECT_EQ(m.text, "ok \xC3\xA9\n"); // not valid UTF-8: read as windows-1252
    EXPECT_NE(m.problems.at(0).find("unknown charset"), std::string::npos);
}
