// Job seeking (SPEC.md "Job seeking"): mail that applies or asks for work,
// in five languages, side by side with mail that uses the same words in
// their other senses or only talks about a job. Also the phrase patterns
// the decision is written in (policies/lexicon.h, PatternSet).

#include "policies/text.h"
#include "policies/lexicon.h"
#include "tests/policies/mail_builder.h"

#include <gtest/gtest.h>

#include <string>

using rapport::test::Mail;
using rapport::test::job_seeking;

namespace {

Mail note(std::string subject, std::string body) {
    Mail m;
    m.from = "Nadia Osei <nadia.osei@gmail.com>";
    m.to = "Tom Reyes <tom.reyes@larchfield.co.uk>";
    m.subject = std::move(subject);
    m.body = std::move(body);
    return m;
}

} // namespace

TEST(JobSeeking, ApplyingInTheFirstPerson) {
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nI would like to apply for the kitchen porter role you "
                                          "posted on Friday.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nI'm writing to apply to join your bakery team.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nSaw the sign in your window and I'd love to apply.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nAre there any vacancies for evening staff?\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nI was wondering whether you offer work experience to "
                                          "Year 10 pupils in July.\n\nNadia\n")));
}

TEST(JobSeeking, OtherSensesOfTheWordsAreOrdinaryMail) {
    EXPECT_FALSE(job_seeking(note("Build broken", "Hi Tom,\n\nCould you apply the lockfile patch and restart the "
                                                 "application server? The nightly job failed again.\n\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Export", "Hi Tom,\n\nThe reader seeks back to the saved position in the file "
                                           "before the fsync, so I'll apply a fix tonight.\n\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Release", "Hi Tom,\n\nThe second release candidate is out; does this patch apply "
                                            "to the stable branch?\n\nNadia\n")));
}

TEST(JobSeeking, TalkingAboutAJobIsNotAskingForOne) {
    EXPECT_FALSE(job_seeking(note("News!", "Mum,\n\nI got the Saturday job at the garden centre! Sarah applied for "
                                          "a job there too.\n\nLove, Nadia\n")));
    EXPECT_FALSE(job_seeking(note("Interview", "Hi Tom,\n\nMy interview for the nursing post went well, I think. "
                                              "Fingers crossed.\n\nNadia\n")));
}

TEST(JobSeeking, FrenchGermanSpanishPolish) {
    EXPECT_TRUE(job_seeking(note("Bonjour", "Bonjour Madame Roux,\n\nJe souhaite postuler au poste d'aide-soignante "
                                           "de votre clinique.\n\nCordialement,\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Correctif", "Bonjour Paul,\n\nPeux-tu appliquer le correctif sur les postes de "
                                              "travail du deuxième étage ?\n\nMerci,\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hallo", "Sehr geehrte Frau Brandt,\n\nhiermit bewerbe ich mich um die Stelle als "
                                         "Elektronikerin.\n\nMit freundlichen Grüßen\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Skript", "Hallo Jens,\n\nan dieser Stelle im Skript wird die Datei zu früh "
                                           "gelöscht. Kannst du den Patch anwenden?\n\nDanke\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Hola", "Estimada Sra. Vidal:\n\nMe gustaría presentar mi candidatura para el puesto "
                                        "de recepcionista.\n\nUn saludo,\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Error", "Hola Luis,\n\nLa solicitud POST devuelve un error 500 en todos los "
                                          "puestos de la oficina.\n\nGracias,\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Dzień dobry", "Szanowna Pani,\n\naplikuję na stanowisko magazyniera ogłoszone na "
                                               "Państwa stronie.\n\nZ poważaniem\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Aktualizacja", "Cześć Marek,\n\naplikacja nie działa na stanowiskach w "
                                                 "magazynie, zrobisz aktualizację?\n\nDzięki\nNadia\n")));
}

TEST(JobSeeking, SubjectsThatApply) {
    EXPECT_TRUE(job_seeking(note("Application for Barista", "Hi Tom,\n\nPlease see below.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Internship enquiry", "Hi Tom,\n\nThanks.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("CV", "Hi Tom,\n\nThanks.\n\nNadia\n")));
    EXPECT_TRUE(job_seeking(note("Anfrage Praktikum", "Hallo Tom,\n\nDanke.\n\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("[PATCH v3] apply quota to cron jobs", "Hi Tom,\n\nRebased.\n\nNadia\n")));
    EXPECT_FALSE(job_seeking(note("Application crashes on start", "Hi Tom,\n\nSee the log.\n\nNadia\n")));
}

TEST(PatternSet, TokensAndSentences) {
    // The patterns of a data file are compiled in; these exercise the syntax
    // through the shipped job_seeking.txt.
    const auto& set = rapport::policies::lexicon().job_seeking;
    auto match = [&](std::string_view text) { return !set.find_in(rapport::policies::word_list(text)).empty(); };
    // "i ...4 apply|applying for|to|as ...4 @job_nouns": gap, alternatives, class.
    EXPECT_TRUE(match("I would really like to apply for the role"));
    EXPECT_FALSE(match("I would really very much like to apply for the role")); // gap of five
    // a sentence end stops a pattern
    EXPECT_FALSE(match("I said no. Apply for the role"));
    EXPECT_FALSE(match("I fixed it; apply for the role"));
    // "3.10" and "example.com" are no sentence ends
    EXPECT_TRUE(match("I, at 3.10 today, apply for the role"));
    // "!..." looks at the next word without taking it
    EXPECT_TRUE(match("I am looking for new opportunities"));
    EXPECT_FALSE(match("I am looking for an opportunity to refactor"));
    // "bewerb*": a prefix
    EXPECT_TRUE(match("Ich möchte mich um die Stelle bewerben"));
    EXPECT_FALSE(match("Ich möchte mich um die Wohnung bewerben")); // an application, not for work
}

// One sentence of a cover letter each, as people write them: each asks.
TEST(JobSeeking, CoverLetterSentences) {
    for (const char* line : {
             "I am writing to express my interest in the Software Engineer position at your company.",
             "I would like to be considered for the role of Data Analyst.",
             "I came across your posting for a Junior Developer and believe I am a strong fit.",
             "I am writing in response to your advertisement for a receptionist.",
             "I believe my skills make me a great candidate for this role.",
             "Could you let me know if there are any openings for a junior designer?",
             "I am applying for the graduate scheme at your bank.",
             "Votre offre d'emploi de comptable a retenu toute mon attention.",
             "Hiermit möchte ich mich um einen Ausbildungsplatz als Mechatroniker bewerben.",
             "Quisiera saber si tienen vacantes para dependiente.",
             "Zwracam się z prośbą o przyjęcie mnie na staż.",
         })
        EXPECT_TRUE(job_seeking(note("Hello", std::string("Hi Tom,\n\n") + line + "\n\nNadia\n"))) << line;
}

// Everyday sentences with the same words: none asks for work. Two weak
// signs of one kind ("I have ten years of experience") are still one.
TEST(JobSeeking, EverydaySentencesWithJobWords) {
    for (const char* line : {
             "Do you have any openings on Saturday for a cut and colour?",
             "I have ten years of experience with this old car, it never breaks.",
             "Any vacancies at the campsite for the bank holiday weekend? We have a tent and need a pitch.",
             "Would you be interested in joining our book club?",
             "I'd love to join your team for the quiz night!",
             "Could you consider me for the second sofa?",
             "I saw your advert for the bike and I'd like to buy it.",
             "My application for the allotment was accepted.",
         })
        EXPECT_FALSE(job_seeking(note("Hello", std::string("Hi Tom,\n\n") + line + "\n\nNadia\n"))) << line;
    // Weak signs of two kinds do ask: openings, and experience.
    EXPECT_TRUE(job_seeking(note("Hello", "Hi Tom,\n\nDo you have any openings at the depot? I have two years "
                                          "of forklift experience.\n\nNadia\n")));
}

// The same in French, German, Spanish and Polish: letters ask, notes don't.
TEST(JobSeeking, OtherLanguagesLettersAndNotes) {
    for (const char* line : {
             "Actuellement à la recherche d'un emploi, je me permets de vous contacter.",
             "Je souhaiterais intégrer votre entreprise en tant que technicienne.",
             "Gerne würde ich Teil Ihres Teams werden.",
             "Über die Möglichkeit eines Praktikums in Ihrem Unternehmen würde ich mich freuen.",
             "Me gustaría formar parte de su equipo.",
             "Estoy buscando trabajo como camarera.",
             "Jestem zainteresowana pracą w Państwa firmie.",
             "Chętnie podejmę pracę w Państwa sklepie.",
         })
        EXPECT_TRUE(job_seeking(note("Bonjour", std::string("Bonjour,\n\n") + line + "\n\nA\n"))) << line;
    for (const char* line : {
             "Suite à votre annonce pour le vélo, est-il toujours disponible ?",
             "Ich suche noch etwas als Geschenk für Oma.",
             "Ich habe die Wohnung bekommen, die Bewerbung hat geklappt!",
             "La solicitud del pasaporte ya está hecha.",
             "¿Quieres formar parte de nuestro grupo de senderismo?",
             "Jestem zainteresowana ofertą wakacyjną nad morzem.",
             "Aplikacja banku znowu nie działa.",
         })
        EXPECT_FALSE(job_seeking(note("Salut", std::string("Salut,\n\n") + line + "\n\nA\n"))) << line;
}
