// The findings' language: read from the mail's own words (policies/language.h),
// overridden by a setting, and the findings said in it (advice.h,
// catalogue.h) - the facts filled in, the plural forms each language's own.

#include "policies/advice.h"
#include "policies/catalogue.h"
#include "policies/language.h"
#include "tests/policies/mail_builder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rp = rapport::policies;
namespace rm = rapport::mime;
using rapport::test::Mail;

namespace {

std::string language_of(const Mail& m) {
    rm::Message msg = rm::parse(m.raw());
    return rp::detect_language(rp::extract_features(msg, {}));
}

rp::Verdict check(const Mail& m, const std::string& language = "auto") {
    rp::SqliteHistory history(":memory:");
    rp::Checker checker(rp::default_policy(), history);
    rp::CheckContext ctx;
    ctx.language = language;
    return checker.check(rm::parse(m.raw()), ctx);
}

// A lazy application in each language: a CV, a greeting to nobody, a vague subject.
struct Lazy {
    std::string lang, to, subject, body;
};
const std::vector<Lazy> kLazy = {
    {"en", "Priya Shah <priya.shah@halden.co.uk>", "CV",
     "Dear Sir/Madam,\n\nPlease find attached my CV. I am looking for work and would like to hear from you.\n\n"
     "Kind regards,\nJake\n"},
    {"fr", "Claire Martin <claire.martin@valcourt.fr>", "Candidature",
     "Madame, Monsieur,\n\nVous trouverez ci-joint mon CV. Je cherche un poste à Lyon.\n\nCordialement,\nJulie\n"},
    {"de", "Katharina Vogt <katharina.vogt@kronwald.de>", "Bewerbung",
     "Sehr geehrte Damen und Herren,\n\nanbei sende ich Ihnen meinen Lebenslauf. Ich suche eine Stelle und freue "
     "mich auf Ihre Antwort.\n\nMit freundlichen Grüßen\nJonas\n"},
    {"es", "Nuria Prats <nuria.prats@solmar.es>", "Currículum",
     "Estimados señores:\n\nLes adjunto mi currículum. Estoy buscando trabajo y quedo a la espera de su "
     "respuesta.\n\nAtentamente,\nLucía\n"},
    {"pl", "Anna Kowalska <anna.kowalska@baltimex.pl>", "CV",
     "Szanowni Państwo,\n\nw załączniku przesyłam moje CV. Szukam pracy i jestem do dyspozycji.\n\n"
     "Z poważaniem,\nMagdalena\n"},
};

Mail lazy_mail(const Lazy& l) {
    Mail m;
    m.to = l.to;
    m.subject = l.subject;
    m.body = l.body;
    m.attachments = {"cv.pdf"};
    return m;
}

} // namespace

TEST(Language, SettingsAreLanguagesRapportSpeaks) {
    EXPECT_EQ(rp::parse_language_setting("auto"), "auto");
    EXPECT_EQ(rp::parse_language_setting("AUTO"), "auto");
    EXPECT_EQ(rp::parse_language_setting("fr"), "fr");
    EXPECT_EQ(rp::parse_language_setting("PL"), "pl");
    EXPECT_EQ(rp::parse_language_setting("de_AT.UTF-8"), "de");
    EXPECT_EQ(rp::parse_language_setting("es-MX"), "es");
    EXPECT_EQ(rp::parse_language_setting("en_GB@euro"), "en");
    EXPECT_EQ(rp::parse_language_setting("it"), std::nullopt);
    EXPECT_EQ(rp::parse_language_setting(""), std::nullopt);
    EXPECT_EQ(rp::parse_language_setting("C"), std::nullopt);
    EXPECT_EQ(rp::coach_languages(), (std::vector<std::string>{"en", "de", "es", "fr", "pl"}));
    EXPECT_EQ(rp::language_setting_choices(), "auto or one of en, de, es, fr, pl");
}

TEST(Language, TheFirstSettingThatNamesALanguageWins) {
    EXPECT_EQ(rp::effective_setting({"", "auto"}), "auto");
    EXPECT_EQ(rp::effective_setting({"pl", "de"}), "pl");
    EXPECT_EQ(rp::effective_setting({"auto", "de"}), "de");
    EXPECT_EQ(rp::effective_setting({}), "auto");
}

TEST(Language, TheOwnWordsTellTheLanguage) {
    for (const auto& l : kLazy) EXPECT_EQ(language_of(lazy_mail(l)), l.lang) << l.body;
}

TEST(Language, AShortLetterIsReadFromItsGreetingAndSignOff) {
    Mail m;
    m.to = "Katharina Vogt <katharina.vogt@kronwald.de>";
    m.subject = "CV";
    m.body = "Sehr geehrte Frau Vogt,\n\nCV.\n\nMit freundlichen Grüßen\nJonas\n";
    EXPECT_EQ(language_of(m), "de");
    m.body = "Dzień dobry,\n\nCV.\n\nPozdrawiam\nOla\n";
    EXPECT_EQ(language_of(m), "pl");
}

TEST(Language, EnglishWhenItCannotBeTold) {
    Mail m;
    m.to = "Sam Lee <sam.lee@harbourlets.co.uk>";
    m.subject = "CV";
    m.body = "CV.\n";
    EXPECT_EQ(language_of(m), "en");
    m.body = "Geachte heer Lee,\n\nHierbij stuur ik mijn cv voor de functie van magazijnmedewerker.\n\nMet "
             "vriendelijke groet,\nJoost\n"; // Dutch: not one of Rapport's languages
    EXPECT_EQ(language_of(m), "en");
    m.body = "";
    EXPECT_EQ(language_of(m), "en");
}

// 150 letters in five languages written by people who never saw these word
// lists (tests/data/judged/fivelang): each timeline's folder starts with its language.
TEST(Language, EveryLetterOfTheFiveLanguageSetIsReadInItsLanguage) {
    namespace fs = std::filesystem;
    std::size_t n = 0;
    for (const auto& dir : fs::directory_iterator(std::string(RAPPORT_TEST_DATA) + "/judged/fivelang/cases")) {
        const std::string want = dir.path().filename().string().substr(0, 2);
        for (const auto& file : fs::directory_iterator(dir.path())) {
            std::ifstream in(file.path(), std::ios::binary);
            std::stringstream raw;
            raw << in.rdbuf();
            rm::Message msg = rm::parse(raw.str());
            EXPECT_EQ(rp::detect_language(rp::extract_features(msg, {})), want) << file.path();
            ++n;
        }
    }
    EXPECT_EQ(n, 150u);
}

TEST(Language, FindingsAreSaidInTheLanguageOfTheMail) {
    for (const auto& l : kLazy) {
        rp::Verdict v = check(lazy_mail(l));
        rp::Verdict english = check(lazy_mail(l), "en");
        ASSERT_GE(v.findings.size(), 3u) << l.lang;
        EXPECT_EQ(v.findings[0].rule, "cv-attachment-only") << l.lang;
        ASSERT_EQ(v.findings.size(), english.findings.size());
        for (std::size_t i = 0; i < v.findings.size(); ++i) {
            EXPECT_EQ(v.findings[i].lang, l.lang) << v.findings[i].rule;
            EXPECT_EQ(english.findings[i].lang, "en");
            if (l.lang != "en") {
                EXPECT_NE(v.findings[i].message, english.findings[i].message) << v.findings[i].rule;
            }
        }
    }
}

TEST(Language, ASettingOverridesTheMailsLanguage) {
    rp::Verdict v = check(lazy_mail(kLazy[0]), "pl");
    ASSERT_FALSE(v.findings.empty());
    for (const auto& f : v.findings) EXPECT_EQ(f.lang, "pl");
    EXPECT_EQ(v.findings[0].rule, "cv-attachment-only");
    EXPECT_EQ(v.findings[0].message.rfind("CV jest w załączniku", 0), 0u) << v.findings[0].message;
}

TEST(Language, TheFactsAreFilledInEveryLanguage) {
    Mail m = lazy_mail(kLazy[3]);
    for (const std::string lang : {"en", "fr", "de", "es", "pl"}) {
        rp::Verdict v = check(m, lang);
        bool greeting = false, subject = false;
        for (const auto& f : v.findings) {
            EXPECT_EQ(f.message.find('{'), std::string::npos) << lang << ": " << f.message;
            if (f.rule == "generic-greeting") greeting = f.message.find("Estimados señores:") != std::string::npos;
            if (f.rule == "vague-subject") subject = f.message.find("Currículum") != std::string::npos;
        }
        EXPECT_TRUE(greeting && subject) << lang;
    }
}

TEST(Catalogue, EachLanguageHasItsOwnPluralForms) {
    const rp::Catalogue& c = rp::coach_catalogue();
    const char* one = "This application goes to {count} different employer at once, so they can see it isn't really "
                      "meant for them. Send each one its own message, addressed to the person who will read it.";
    const char* many = "This application goes to {count} different employers at once, so each can see it isn't "
                       "really meant for them. Send each one its own message, addressed to the person who will read "
                       "it.";
    auto pl = [&](long n) { return rp::fill(c.plural("pl", "bulk-recipients", one, many, n), {{"count", std::to_string(n)}}); };
    EXPECT_NE(pl(1).find("do 1 pracodawcy"), std::string::npos) << pl(1);
    EXPECT_NE(pl(3).find("do 3 różnych pracodawców"), std::string::npos) << pl(3);
    EXPECT_NE(pl(5).find("do 5 różnych pracodawców"), std::string::npos) << pl(5);
    EXPECT_NE(c.plural("en", "bulk-recipients", one, many, 4).find("employers"), std::string::npos);
    EXPECT_NE(c.plural("fr", "bulk-recipients", one, many, 1).find("{count} employeur\u00a0:"), std::string::npos)
        << "French: one employer (n <= 1), with a no-break space before the colon";
    EXPECT_TRUE(c.translated("de", "bulk-recipients", one));
    EXPECT_FALSE(c.translated("en", "bulk-recipients", one)); // English has no catalogue: the msgid is the text
    EXPECT_FALSE(c.translated("de", "bulk-recipients", "Not a message of Rapport's"));
    EXPECT_EQ(c.text("it", "vague-subject", "No such language"), "No such language");
}

TEST(Catalogue, FillReplacesEachPlaceholderOnce) {
    EXPECT_EQ(rp::fill("Dear {name}, re {subject}.", {{"name", "Anna"}, {"subject", "{name}"}}), "Dear Anna, re {name}.");
    EXPECT_EQ(rp::fill("{unknown} and {name}", {{"name", "x"}}), "{unknown} and x");
    EXPECT_EQ(rp::fill("no slots", {}), "no slots");
    EXPECT_EQ(rp::fill("open { brace", {{"name", "x"}}), "open { brace");
}
