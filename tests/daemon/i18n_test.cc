// The daemon's side of the languages: [coach] language, a member's own
// language, the terminal's language for rapportctl, and the held notice in
// the sender's language (daemon/lib/i18n.h, config.h, members.h, hold.h).

#include "daemon/lib/config.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/notices.h"
#include "daemon/lib/i18n.h"
#include "daemon/lib/members.h"
#include "daemon/lib/verdict.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace rapport::daemon;

namespace {

std::string temp_dir() {
    char dir[] = "/tmp/rapport-i18n-test-XXXXXX";
    return ::mkdtemp(dir);
}

Config load_with(const std::string& toml) {
    std::string dir = temp_dir();
    std::ofstream(dir + "/rapportd.toml") << toml;
    std::string path = dir + "/rapportd.toml";
    const char* argv[] = {"rapportd", "--config", path.c_str(), "--state", dir.c_str()};
    Config c = load_config(5, argv);
    std::filesystem::remove_all(dir);
    return c;
}

// Sets the locale variables for one test and puts them back after it.
struct Env {
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    void set(const char* name, const char* value) {
        const char* old = std::getenv(name);
        saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~Env() {
        for (auto it = saved.rbegin(); it != saved.rend(); ++it)
            if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else ::unsetenv(it->first.c_str());
    }
};

std::string terminal(const char* lc_all, const char* lc_messages, const char* lang, const char* language) {
    Env e;
    e.set("LC_ALL", lc_all);
    e.set("LC_MESSAGES", lc_messages);
    e.set("LANG", lang);
    e.set("LANGUAGE", language);
    return terminal_language();
}

} // namespace

TEST(CoachConfig, LanguageIsAutoOrOneRapportSpeaks) {
    EXPECT_EQ(load_with("").coach.language, "auto");
    EXPECT_EQ(load_with("[coach]\nlanguage = \"pl\"\n").coach.language, "pl");
    EXPECT_EQ(load_with("[coach]\nlanguage = \"de_DE.UTF-8\"\n").coach.language, "de");
    EXPECT_EQ(load_with("[coach]\nlanguage = \"auto\"\n").coach.language, "auto");
    try {
        load_with("[coach]\nlanguage = \"it\"\n");
        FAIL() << "Italian accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("auto or one of en, de, es, fr, pl"), std::string::npos) << e.what();
    }
    EXPECT_THROW(load_with("[coach]\nlangauge = \"fr\"\n"), ConfigError); // unknown keys are errors
}

TEST(TerminalLanguage, AsGettextDecides) {
    EXPECT_EQ(terminal(nullptr, nullptr, "pl_PL.UTF-8", nullptr), "pl");
    EXPECT_EQ(terminal(nullptr, "de_AT.UTF-8", "fr_FR.UTF-8", nullptr), "de");
    EXPECT_EQ(terminal("es_ES.UTF-8", "de_AT.UTF-8", "fr_FR.UTF-8", nullptr), "es");
    EXPECT_EQ(terminal(nullptr, nullptr, "fr_FR.UTF-8", "it:pl:de"), "pl"); // the first it speaks
    EXPECT_EQ(terminal(nullptr, nullptr, "C.UTF-8", "pl"), "en");           // LANGUAGE is ignored under C
    EXPECT_EQ(terminal(nullptr, nullptr, "nl_NL.UTF-8", nullptr), "en");    // no catalogue
    EXPECT_EQ(terminal(nullptr, nullptr, nullptr, nullptr), "en");
}

TEST(Translations, RapportctlSaysItInTheLanguageAsked) {
    EXPECT_EQ(tr_in("de", "held", "No messages are held."), "Es werden keine Nachrichten zurückgehalten.");
    EXPECT_EQ(tr_in("en", "held", "No messages are held."), "No messages are held.");
    EXPECT_EQ(tr_plural_in("pl", "held", "{n} byte", "{n} bytes", 3), "{n} bajty");
    EXPECT_EQ(tr_plural_in("pl", "held", "{n} byte", "{n} bytes", 12), "{n} bajtów");
    EXPECT_EQ(long_date("de", 1700000000), "14. November 2023, 22:13 UTC");
    EXPECT_EQ(long_date("pl", 1700000000), "14 listopada 2023, 22:13 UTC");
    EXPECT_EQ(long_date("en", 1700000000), "14 November 2023, 22:13 UTC");
}

TEST(HeldNotice, WrittenInTheLanguageOfTheFindings) {
    rapport::policies::Finding f{"vague-subject", "Temat „CV” jest zbyt ogólny.", rapport::policies::Action::hold, "pl"};
    std::string n = held_notice("mx.example", "abc123", "ola@example.pl", "CV", {f}, 1700000000);
    std::string body = n.substr(n.find("\r\n\r\n") + 4);
    EXPECT_NE(body.find("Rapport jeszcze nie wysłał wiadomości „CV”."), std::string::npos) << body;
    EXPECT_NE(body.find("Dlaczego:\r\n  - Temat „CV” jest zbyt ogólny.\r\n"), std::string::npos) << body;
    EXPECT_NE(body.find("albo poleceniem: rapportctl held release abc123"), std::string::npos) << body;
    EXPECT_NE(body.find("do 14 listopada 2023, 22:13 UTC."), std::string::npos) << body;
    EXPECT_NE(n.find("Subject: =?UTF-8?"), std::string::npos); // the Polish subject, encoded
    f.lang = "en";
    std::string en = held_notice("mx.example", "abc123", "ola@example.pl", "", {f}, 1700000000);
    EXPECT_NE(en.find("Subject: Rapport held your message: (no subject)\r\n"), std::string::npos) << en;
    EXPECT_NE(en.find("It stays on hold until 14 November 2023, 22:13 UTC."), std::string::npos) << en;
}

TEST(RejectReply, InTheLanguageOfTheFindingsWrappedAtWholeCharacters) {
    rapport::policies::Finding f{"vague-subject", "Temat „CV” jest zbyt ogólny.", rapport::policies::Action::reject,
                                 "pl"};
    EXPECT_EQ(reject_reply({f}), "550-5.7.1 Rapport nie wysłał tej wiadomości:\r\n"
                                 "550 5.7.1 Temat „CV” jest zbyt ogólny. [vague-subject]\r\n");
    f.message = std::string(399, 'x') + "ż" + std::string(30, 'y'); // no space to wrap at: cut before the ż
    std::string r = reject_reply({f});
    EXPECT_NE(r.find("550-5.7.1 " + std::string(399, 'x') + "\r\n550 5.7.1 ż"), std::string::npos) << r;
}

TEST(MemberLanguage, KeptPerMemberAndAddedToOlderDatabases) {
    std::string dir = temp_dir();
    {
        // A members.db without the lang column.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir + "/members.db").c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE members (name TEXT PRIMARY KEY, hash TEXT NOT NULL, grp TEXT NOT NULL "
                               "DEFAULT '', role TEXT NOT NULL DEFAULT 'member', created INTEGER NOT NULL, "
                               "token_generation INTEGER NOT NULL DEFAULT 0);"
                               "INSERT INTO members (name, hash, created) VALUES ('ola', 'x', 1)",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    Members m(dir);
    ASSERT_TRUE(m.find("ola"));
    EXPECT_EQ(m.find("ola")->language, "auto");
    m.set_language("ola", "PL");
    EXPECT_EQ(m.find("ola")->language, "pl");
    m.add("jonas", "long enough password", "", Role::member);
    EXPECT_EQ(m.find("jonas")->language, "auto");
    EXPECT_THROW(m.set_language("jonas", "klingon"), MemberError);
    EXPECT_THROW(m.set_language("nobody", "de"), MemberError);
    ASSERT_TRUE(m.verify("jonas", "long enough password")); // the hash is still read from its own column
    EXPECT_EQ(Members(dir).find("ola")->language, "pl");   // a second opening adds nothing
    std::filesystem::remove_all(dir);
}
