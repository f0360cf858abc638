// unfilled-placeholder: merge fields and template brackets left in, side
// by side with technical notation that looks like them (policies/notation.h).

#include "policies/notation.h"
#include "policies/rules/rule.h"
#include "tests/policies/mail_builder.h"

#include <gtest/gtest.h>

#include <string>

namespace rp = rapport::policies;
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
