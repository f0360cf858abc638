// corpus_test.cc - the shared corpus and the MIME torture set.
//
// ../shared is optional (people clone only this repo): each test skips when
// its directory is absent. Every corpus message must parse with no problems;
// 30 of them are checked field by field. Every torture message must parse
// without crashing, in bounded time.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "mime/message.h"
#include "mime/model_json.h"

namespace fs = std::filesystem;
using rapport::mime::Message;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<fs::path> files_under(const fs::path& dir, std::string_view ext = {}) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

const fs::path kCases = fs::path(RAPPORT_SHARED_DIR) / "corpus" / "cases";
const fs::path kTorture = fs::path(RAPPORT_SHARED_DIR) / "mime-torture";

struct Expect {
    const char* file;
    const char* subject;
    const char* from_name;
    const char* attachment; // first attachment's file name, "" for none
    const char* snippet;    // a text line starts with this
};

const Expect kExpect[] = {
    {"t01-cv-only-basics/01-brightwater-two-line-cv.eml", "Warehouse Operative vacancy (ref WH-221)", "Jake Turner", "CV_Jake_Turner.pdf", "My CV for the Brightwater warehouse vaca"},
    {"t01-cv-only-basics/04-sam-five-a-side.eml", "Five-a-side Sunday?", "Jake Turner", "", "Are you still up for five-a-side on Sund"},
    {"t02-cv-named-document1/01-corvana-document1-short.eml", "Customer Service Advisor role", "Daniel Okoro", "document1.pdf", "My CV for the Corvana advisor role is at"},
    {"t03-german-bewerbungen/01-rheinfeld-lebenslauf-ohne-text.eml", "Bewerbung als Fachlagerist (Kennziffer 2025-117)", "Lukas Schäfer", "Lebenslauf_Schäfer.pdf", "anbei mein Lebenslauf für die Stelle bei"},
    {"t03-german-bewerbungen/05-freund-grillen.eml", "Grillen am Samstag?", "Lukas Schäfer", "", "steht das Grillen am Samstag noch? Ich b"},
    {"t04-french-candidatures/02-beaumerle-cv-seul.eml", "Poste d'assistante commerciale (réf. BM-41)", "Chloé Martin", "CV Chloé Martin – assistante commerciale.pdf", "Veuillez trouver ci-joint mon CV pour le"},
    {"t04-french-candidatures/06-lea-diner-samedi.eml", "Dîner samedi ?", "Chloé Martin", "", "Ça tient toujours pour samedi ? Je pensa"},
    {"t05-spanish-solicitudes/01-solmar-estimados-senores.eml", "Solicitud: auxiliar administrativo (ref. SM-0925)", "José García", "Curriculum_Vitae_José_García.pdf", "Les escribo para presentar mi candidatur"},
    {"t05-spanish-solicitudes/05-hermana-cumpleanos.eml", "Cumpleaños de mamá", "José García", "", "¿Al final reservamos en el restaurante d"},
    {"t06-generic-greetings-outlook/01-tolland-dear-sir-madam.eml", "Payroll Administrator vacancy – ref TOL/PA/114", "Aisha Khan", "CV - Aisha Khan.docx", "I would like to apply for the Payroll Ad"},
    {"t07-template-blast-12-firms/01-brightwater.eml", "Junior Data Analyst application", "Liam O'Connor", "Liam_OConnor_CV.pdf", "I am writing to apply for the Junior Dat"},
    {"t08-template-resend-same-recipient/01-greyfold.eml", "Marketing Assistant role", "Megan Price", "Megan Price CV.pdf", "I'm getting in touch about the Marketing"},
    {"t11-copy-paste-leftovers/02-halden.eml", "Account Manager vacancy", "Tom Fletcher", "Tom Fletcher CV.docx", "I would like to be considered for the Ac"},
    {"t13-greeting-mismatch/02-hi-tom-to-sarah-lee.eml", "Helpdesk Analyst vacancy", "Oliver Bennett", "Oliver_Bennett_Curriculum_Vitae_IT_Support_2025_updated_October.pdf", "I saw the Helpdesk Analyst vacancy on Ra"},
    {"t14-placeholders-job/03-insert-job-title.eml", "Junior Copywriter – Cardale in-house team", "Ben Carter", "Ben_Carter_CV.pdf", "I was excited to see the [insert job tit"},
    {"t16-family-bulk/02-walk-2-gmail-friends.eml", "Walk on Sunday?", "Karen Walsh", "", "Fancy a walk on Sunday morning? I was th"},
    {"t17-work-colleagues/02-draft-report-cc-client.eml", "Sollent depot survey – draft report", "Rob Ellis", "image001.png", "Draft report for the Sollent depot trave"},
    {"t19-vague-subjects/02-subject-empty.eml", "", "Emily Shaw", "Emily Shaw – CV.pdf", "I would like to apply for the Legal Admi"},
    {"t20-replies-recruiters/01-re-cv-again-as-requested.eml", "RE: Receptionist application", "Nadia Hussain", "Nadia_Hussain_CV.pdf", "Here it is again as requested."},
    {"t21-gran-plain-text/02-neighbour-hello.eml", "Parcel for number 14", "Margaret Wilson", "", "I have taken in a parcel for number 14 a"},
    {"t23-job-club-shared-mailbox/03-tariq-my-resume-subject.eml", "My resume", "Eastside Job Club", "Tariq_Osman_Résumé.pdf", "My name is Tariq Osman and I'm applying"},
    {"t23-job-club-shared-mailbox/05-kofi-png-sample.eml", "Apprentice sign-writer – sample, as promised", "Eastside Job Club", "shopfront_sign.png", "Following our chat on the Elmcroft stand"},
    {"t25-ordinary-threads/03-cv-to-friend-for-review.eml", "Project manager CV – could you cast an eye over it?", "Chris Hall", "Chris_Hall_CV_draft3.docx", "Could I ask a favour? I'm finally applyi"},
    {"t26-apple-family-notes/04-brother-boiler.eml", "Mum's boiler", "Eleanor Price", "", "Mum rang about the boiler man on Thursda"},
    {"t27-allotment-plain/02-re-council-rent.eml", "Re: Plot 17 - rent invoice 2025/26", "Ken Adams", "", "Thank you. I have paid the 2025/26 rent"},
    {"t29-agencies-and-work-coach/04-hallam-cc-own-second-address.eml", "Assistant Site Manager (trainee) – Hallam Homes", "Marcus Webb", "Marcus Webb CV.docx", "I'm applying for the trainee Assistant S"},
    {"t31-polish-praca/01-trzy-firmy-temat-cv.eml", "CV", "Katarzyna Nowak", "CV_Katarzyna_Nowak.pdf", "zwracam się z prośbą o rozważenie mojej"},
    {"t31-polish-praca/03-ola-rozmowa-w-czwartek.eml", "Rozmowa w czwartek!", "Katarzyna Nowak", "", "wyobraź sobie, że z Baltimexu oddzwonili"},
    {"t32-pupil-vets-and-cafes/02-oakfield-follow-up.eml", "Work experience 9–13 June – Oakfield Vets", "Ella Morris", "", "Thank you for ringing my mum back on Mon"},
    {"t33-freelancer-own-domain/01-larkspur-cc-agency-and-own-studio.eml", "Junior Graphic Designer – Larkspur Print", "Amelia Clark", "Amelia_Clark_CV.pdf", "Nadia Brooks at Inkwell Recruitment sugg"},
};

} // namespace

TEST(Corpus, EveryMessageParsesCleanly) {
    if (!fs::is_directory(kCases)) GTEST_SKIP() << kCases << " absent";
    auto files = files_under(kCases, ".eml");
    ASSERT_GT(files.size(), 100u);
    for (const auto& f : files) {
        Message m = rapport::mime::parse(slurp(f));
        EXPECT_TRUE(m.problems.empty()) << f << ": " << m.problems.front();
        EXPECT_FALSE(m.from.empty()) << f;
        EXPECT_FALSE(m.recipients().empty()) << f;
        EXPECT_TRUE(m.date.has_value()) << f;
        EXPECT_FALSE(m.text.empty()) << f;
        for (const auto& a : m.attachments) {
            EXPECT_FALSE(a.filename.empty() && !a.is_inline) << f;
            EXPECT_GT(a.size, 0u) << f << " " << a.filename;
            if (a.declared_type == "application/pdf") {
                EXPECT_EQ(a.sniffed_type, "application/pdf") << f;
            }
        }
    }
}

TEST(Corpus, SpecificValues) {
    if (!fs::is_directory(kCases)) GTEST_SKIP() << kCases << " absent";
    for (const auto& e : kExpect) {
        SCOPED_TRACE(e.file);
        Message m = rapport::mime::parse(slurp(kCases / e.file));
        EXPECT_EQ(m.subject, e.subject);
        ASSERT_FALSE(m.from.empty());
        EXPECT_EQ(m.from[0].name, e.from_name);
        if (*e.attachment) {
            ASSERT_FALSE(m.attachments.empty());
            EXPECT_EQ(m.attachments[0].filename, e.attachment);
        } else {
            EXPECT_TRUE(m.attachments.empty());
        }
        EXPECT_NE(m.text.find(std::string("\n") + e.snippet), std::string::npos) << m.text;
    }
}

TEST(Torture, EveryMessageSurvives) {
    if (!fs::is_directory(kTorture)) GTEST_SKIP() << kTorture << " absent";
    auto files = files_under(kTorture);
    std::size_t parsed = 0;
    for (const auto& f : files) {
        if (f.filename().string().rfind("LICENSE", 0) == 0 || f.extension() == ".md") continue;
        auto t0 = std::chrono::steady_clock::now();
        Message m = rapport::mime::parse(slurp(f));
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_LT(ms, 1000) << f;
        // The model must always serialise (valid UTF-8 everywhere).
        EXPECT_NO_THROW((void)rapport::mime::to_json(m).dump()) << f;
        ++parsed;
    }
    EXPECT_GT(parsed, 50u);
}

TEST(Torture, KnownShapes) {
    if (!fs::is_directory(kTorture)) GTEST_SKIP() << kTorture << " absent";
    Message embedded = rapport::mime::parse(slurp(kTorture / "messages" / "simple-embedded-message.eml"));
    EXPECT_EQ(embedded.forwarded.size(), 1u);
    Message digest = rapport::mime::parse(slurp(kTorture / "messages" / "multipart-digest.txt"));
    EXPECT_FALSE(digest.forwarded.empty()); // digest parts default to message/rfc822
    Message japanese = rapport::mime::parse(slurp(kTorture / "messages" / "japanese.txt"));
    EXPECT_FALSE(japanese.text.empty());
    Message overflow = rapport::mime::parse(slurp(kTorture / "messages" / "stack-overflow.txt"));
    EXPECT_EQ(overflow.subject, "Message Subject");
}

// Inputs the fuzzer once crashed on (tests/data/mime/fuzz-regressions).
TEST(FuzzRegressions, AllSurvive) {
    const fs::path dir = fs::path(RAPPORT_TEST_DATA) / "mime" / "fuzz-regressions";
    if (!fs::is_directory(dir)) GTEST_SKIP();
    for (const auto& f : files_under(dir)) {
        std::string raw = slurp(f);
        for (bool tiny : {false, true}) {
            rapport::mime::Limits lim;
            if (tiny) {
                lim.max_depth = 3;
                lim.max_parts = 8;
                lim.max_text_bytes = 64;
            }
            Message m = rapport::mime::parse(raw, lim);
            EXPECT_NO_THROW((void)rapport::mime::to_json(m).dump()) << f;
        }
    }
}
