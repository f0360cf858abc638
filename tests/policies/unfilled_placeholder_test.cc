// unfilled-placeholder: merge fields and template brackets left in, side
// by side with technical notation that looks like them (policies/notation.h).

#include "policies/notation.h"
#include "policies/rules/rule.h"
#include "tests/policies/mail_builder.h"
#include "tests/policies/rules_fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace rp = rapport::policies;
namespace rm = rapport::mime;
using rapport::test::Mail;
using rapport::test::rules_fired;

TEST(UnfilledPlaceholder, MergeFieldsInProse) {
    EXPECT_EQ(rp::find_placeholder("I'd love to join [Company Name] as a barista."), "[Company Name]");
    EXPECT_EQ(rp::find_placeholder("Hi {{first_name}}, see you Tuesday."), "{{first_name}}");
    EXPECT_EQ(rp::find_placeholder("Hallo {{ Vorname }}, danke!"), "{{ Vorname }}");
    EXPECT_EQ(rp::find_placeholder("Je postule chez {entreprise}."), "{entreprise}");
    EXPECT_EQ(rp::find_placeholder("Dear <NAME>,"), "<NAME>");
    EXPECT_EQ(rp::find_placeholder("Dzień dobry %IMIE%,"), "%IMIE%");
    EXPECT_EQ(rp::find_placeholder("Hi *|FNAME|*!"), "*|FNAME|*");
    EXPECT_EQ(rp::find_placeholder("for the [insert job title] role"), "[insert job title]");
    EXPECT_EQ(rp::find_placeholder("Thanks to XXX for the packaging work."), "XXX");
    EXPECT_EQ(rp::find_placeholder("Estimado ${nombre}:"), "${nombre}");
    EXPECT_EQ(rp::find_placeholder("am {{datum}} ab 22 Uhr"), "{{datum}}");
    EXPECT_EQ(rp::find_placeholder("Dear {},"), "{}");
    EXPECT_EQ(rp::find_placeholder("I am applying to {0} for the role."), "{0}");
    EXPECT_EQ(rp::find_placeholder("Soy profesional en ...[...]"), "[...]");
    EXPECT_EQ(rp::find_placeholder("le XX/XX à XXh"), "XX/XX");
    EXPECT_EQ(rp::find_placeholder("Kündigung zum [TT.MM.JJJJ]."), "[TT.MM.JJJJ]");
    EXPECT_EQ(rp::find_placeholder("My notice period is [notice period]."), "[notice period]");
    EXPECT_EQ(rp::find_placeholder("I noticed {row['company']} is growing"), "{row['company']}");
    EXPECT_EQ(rp::find_placeholder("Wohnung in der (Adresse) kündigen"), "(Adresse)");
}

TEST(UnfilledPlaceholder, TechnicalNotationIsNot) {
    // code comments and markers
    EXPECT_EQ(rp::find_placeholder("    if (x) {\n        # XXX: retries forever\n    }\n"), "");
    EXPECT_EQ(rp::find_placeholder("XXX: this path is never tested\n"), "");
    EXPECT_EQ(rp::find_placeholder("-            // XXX remove after 2.0\n"), "");
    // command-line syntax, in a command line and quoted in prose
    EXPECT_EQ(rp::find_placeholder("Run it like this:\n\n  tool sync --user <name> --since <date>\n"), "");
    EXPECT_EQ(rp::find_placeholder("The help still says \"sync [--force] <name>\", which is wrong.\n"), "");
    EXPECT_EQ(rp::find_placeholder("git checkout -b <name>\n"), "");
    EXPECT_EQ(rp::find_placeholder("Download release-<version>.tar.gz from the site.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Use `deploy <name>` for that.\n"), "");
    // program output
    EXPECT_EQ(rp::find_placeholder("14:02:11.900 DEBUG pool: {{2 idle}} max=8\n"), "");
    EXPECT_EQ(rp::find_placeholder("2026-01-04 ERROR [worker] job {{name}} failed\n"), "");
    // markup and keys
    EXPECT_EQ(rp::find_placeholder("The <title> tag is empty and <CENTER> is obsolete.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Press <Enter> twice.\n"), "");
    // paths, kisses, masked numbers, redactions
    EXPECT_EQ(rp::find_placeholder("It lives in %APPDATA%\\Tool.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Echo $PATH first.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Lovely to see you Sunday XXX\n"), "");
    EXPECT_EQ(rp::find_placeholder("Card ending XXXX 4411, call 07700 XXX XXX.\n"), "");
    EXPECT_EQ(rp::find_placeholder("He said [name redacted] had left.\n"), "");
    EXPECT_EQ(rp::find_placeholder("It returns an empty dict {} when nothing matches.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Sending you {{{hugs}}}\n"), "");
    EXPECT_EQ(rp::find_placeholder("The soup needs cream [optional] and salt.\n"), "");
    EXPECT_EQ(rp::find_placeholder("Card XXXX-XXXX-1234 was charged.\n"), "");
    EXPECT_EQ(rp::find_placeholder("See you at 3pm (the usual place).\n"), "");
    EXPECT_EQ(rp::find_placeholder("Re: [notmuch] new tags\n"), "");
    // prose about notation shown elsewhere in the text
    EXPECT_EQ(rp::find_placeholder("    make install PREFIX=<dir>\n\nwhere <dir> is where it goes.\n"), "");
}

TEST(UnfilledPlaceholder, NotationLinesAndSpans) {
    EXPECT_TRUE(rp::Notation::technical_line("$ sudo systemctl restart app"));
    EXPECT_TRUE(rp::Notation::technical_line("Traceback (most recent call last):"));
    EXPECT_TRUE(rp::Notation::technical_line("  self.queue = Queue(maxsize=4)"));
    EXPECT_TRUE(rp::Notation::technical_line("usage: tool [-h] <file>"));
    EXPECT_FALSE(rp::Notation::technical_line("I'd love to join [Company Name] as a barista."));
    EXPECT_FALSE(rp::Notation::technical_line("  * three years on the tills at [Company]"));
    EXPECT_FALSE(rp::Notation::technical_line("Dear {{first_name}},"));
}

TEST(UnfilledPlaceholder, FiresOnOrdinaryMailToo) {
    Mail m;
    m.from = "Ravi Menon <ravi@menon.dev>";
    m.to = "Kit <kit.ashby@gmail.com>";
    m.subject = "Meetup on Thursday";
    m.body = "Hi {{first_name}},\n\nYou're on second. To try the demo:\n\n  pip install tidewave\n"
             "  tidewave run --port <port>\n\nRavi\n";
    EXPECT_EQ(rules_fired(m), (std::set<std::string>{"unfilled-placeholder"}));
    m.body = "Hi Kit,\n\nYou're on second. To try the demo:\n\n  pip install tidewave\n"
             "  tidewave run --port <port>\n\nRavi\n";
    EXPECT_TRUE(rules_fired(m).empty());
}

// The rule through the Checker.
namespace {
using rapport::test::Rules;
using rapport::test::Set;
using rapport::test::kLongBody;
} // namespace

TEST_F(Rules, PlaceholdersOfEveryShape) {
    for (std::string p : {"[Company Name]", "{{first_name}}", "<NAME>", "%FIRSTNAME%", "*|FNAME|*",
                          "[insert job title]", "XXX", "[Nom de l'entreprise]", "[Firmenname]"}) {
        EXPECT_EQ(rp::find_placeholder("I admire " + p + "'s work."), p) << p;
    }
}

TEST_F(Rules, GatewayTagsAndImagesAreNotPlaceholders) {
    for (std::string s : {"[EXTERNAL] Revised drawings", "[SPAM] Re: assessment", "[cid:image001.png@01DB]",
                          "see [1] and [2]", "Sophie Tran [mailto:sophie@x.com]", "20% off, 30% more",
                          "a <b>bold</b> claim", "email me at <jake@x.com>", "Love you xxx", "size XXL"}) {
        EXPECT_EQ(rp::find_placeholder(s), "") << s;
    }
}

// find_placeholder skips 16 bytes at a time to the next byte that can open
// one: a placeholder is found at every offset and alignment, after near
// misses of every opener, in views that end anywhere (not at a NUL).
TEST_F(Rules, PlaceholderFoundAtEveryOffset) {
    const std::string misses = "20% off, see [1], a <b> tag, XL, x_y, $5, *bold*, {x} ";
    for (std::string p : {"[Company Name]", "{{first_name}}", "<NAME>", "%FIRSTNAME%", "*|FNAME|*", "XXX",
                          "${NAME}", "$FIRST_NAME"}) {
        for (std::size_t pad = 0; pad < 40; ++pad) {
            std::string text = std::string(pad, 'a') + " " + misses + p + " and more text after it.";
            EXPECT_EQ(rp::find_placeholder(text), p) << pad << ": " << text;
            std::string clean = std::string(pad, 'a') + " " + misses + "and more text after it.";
            EXPECT_EQ(rp::find_placeholder(clean), "") << clean;
            // A view cut inside the placeholder finds nothing past its end.
            std::string_view cut(text.data(), text.size() - 25 - p.size() + 2);
            EXPECT_EQ(rp::find_placeholder(cut), "") << pad;
        }
    }
    std::string blank = std::string(37, 'b') + "\nDear ____,\n";
    EXPECT_EQ(rp::find_placeholder(blank), "____");
}

TEST_F(Rules, PlaceholderInSubjectOfOrdinaryMail) {
    Mail m;
    m.to = "Dave Lowe <dave.lowe@outlook.com>";
    m.subject = "Season round-up for %FIRSTNAME%";
    m.body = "Hi Dave,\n\nWhat a season! Presentation evening is Friday.\n\nMike\n";
    EXPECT_EQ(fired(m), Set{"unfilled-placeholder"});
}

TEST_F(Rules, PlaceholderInSignatureOrQuoteIsIgnored) {
    Mail m;
    m.to = "Dave Lowe <dave.lowe@outlook.com>";
    m.subject = "Re: season";
    m.extra_headers = "In-Reply-To: <x@y>\r\n";
    m.body = "Sorry Dave, that was the list tool.\n\nMike\n\nOn Thu, 5 Jun 2025 at 20:58, Dave wrote:\n"
             "> Hi *|FNAME|* was at the top!\n";
    EXPECT_EQ(fired(m), Set{});
}
