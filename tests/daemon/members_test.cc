// Unit tests for daemon/lib/members: the job club's member store.

#include "daemon/lib/members.h"

#include "daemon/lib/hold.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace rapport::daemon;

namespace {
// State directories made by the tests, removed when the test program exits.
struct TempDirs {
    std::vector<std::string> dirs;
    ~TempDirs() {
        for (const auto& d : dirs) std::filesystem::remove_all(d);
    }
};
std::string temp_state() {
    static TempDirs made;
    char dir[] = "/tmp/rapport-members-test-XXXXXX";
    made.dirs.push_back(::mkdtemp(dir));
    return made.dirs.back();
}
const std::string kToken(64, 'a'); // the daemon's API token
} // namespace

TEST(Members, AddListFindRemove) {
    std::string st = temp_state();
    Members m(st);
    EXPECT_TRUE(m.empty());
    m.add("Amira", "amira-pass-1", "new", Role::member);
    m.add("sue@club.example", "adviser-pass", "", Role::adviser);
    EXPECT_FALSE(m.empty());
    auto all = m.list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "amira"); // names are case-insensitive, kept in lower case
    EXPECT_EQ(all[0].group, "new");
    EXPECT_EQ(all[0].role, Role::member);
    EXPECT_EQ(all[1].name, "sue@club.example");
    EXPECT_EQ(all[1].role, Role::adviser);
    EXPECT_TRUE(m.find("AMIRA").has_value());
    EXPECT_FALSE(m.find("ben").has_value());
    EXPECT_FALSE(m.find("not a name!").has_value());
    m.set_group("amira", "experienced");
    m.set_role("amira", Role::adviser);
    EXPECT_EQ(m.find("amira")->group, "experienced");
    EXPECT_EQ(m.find("amira")->role, Role::adviser);
    EXPECT_TRUE(m.remove("Amira"));
    EXPECT_FALSE(m.remove("amira"));
    EXPECT_EQ(m.list().size(), 1u);
}

TEST(Members, RefusesBadInputWithASentence) {
    Members m(temp_state());
    m.add("amira", "amira-pass-1", "", Role::member);
    EXPECT_THROW(m.add("amira", "other-pass-2", "", Role::member), MemberError); // exists
    EXPECT_THROW(m.add("ben", "short", "", Role::member), MemberError);          // password too short
    EXPECT_THROW(m.add("ben smith", "long-enough-1", "", Role::member), MemberError);
    EXPECT_THROW(m.add("", "long-enough-1", "", Role::member), MemberError);
    EXPECT_THROW(m.add(std::string(65, 'x'), "long-enough-1", "", Role::member), MemberError);
    EXPECT_THROW(m.add("ben", "long-enough-1", "new members", Role::member), MemberError); // group name
    EXPECT_THROW(m.set_password("nobody", "long-enough-1"), MemberError);
    EXPECT_THROW(m.set_group("nobody", "new"), MemberError);
    try {
        m.add("ben", "short", "", Role::member);
    } catch (const MemberError& e) {
        EXPECT_STREQ(e.what(), "the password needs at least 8 characters");
    }
}

TEST(Members, PasswordsAreArgon2idHashesInAPrivateFile) {
    std::string st = temp_state();
    {
        Members m(st);
        m.add("amira", "amira-pass-1", "", Role::member);
    }
    std::ifstream in(st + "/members.db", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str().find("amira-pass-1"), std::string::npos);
    EXPECT_NE(ss.str().find("$argon2id$"), std::string::npos);
    struct stat sb{};
    ASSERT_EQ(::stat((st + "/members.db").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
}

TEST(Members, VerifyChecksThePassword) {
    Members m(temp_state());
    m.add("amira", "amira-pass-1", "new", Role::member);
    auto who = m.verify("Amira", "amira-pass-1");
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(who->name, "amira");
    EXPECT_EQ(who->group, "new");
    EXPECT_FALSE(m.verify("amira", "amira-pass-2").has_value());
    EXPECT_FALSE(m.verify("amira", "").has_value());
    EXPECT_FALSE(m.verify("nobody", "amira-pass-1").has_value());
    EXPECT_FALSE(m.verify("bad name!", "amira-pass-1").has_value());
    m.set_password("amira", "new-password-3");
    EXPECT_FALSE(m.verify("amira", "amira-pass-1").has_value());
    EXPECT_TRUE(m.verify("amira", "new-password-3").has_value());
}

TEST(Members, ASecondProcessSeesChangesAtOnce) {
    std::string st = temp_state();
    Members daemon_side(st), ctl_side(st); // two connections, as rapportd and rapportctl
    EXPECT_TRUE(daemon_side.empty());
    ctl_side.add("amira", "amira-pass-1", "", Role::member);
    EXPECT_FALSE(daemon_side.empty());
    EXPECT_TRUE(daemon_side.verify("amira", "amira-pass-1").has_value());
    ctl_side.remove("amira");
    EXPECT_FALSE(daemon_side.verify("amira", "amira-pass-1").has_value());
}

TEST(Members, AddOnTokensAreDerivedAndRevocable) {
    Members m(temp_state());
    m.add("ben.okafor@club.example", "ben-pass-22", "", Role::member);
    EXPECT_FALSE(m.by_token("ben.okafor@club.example.0." + std::string(64, '0'), kToken).has_value());
    std::string t1 = m.issue_token("ben.okafor@club.example", kToken);
    EXPECT_EQ(t1.rfind("ben.okafor@club.example.1.", 0), 0u) << t1;
    auto who = m.by_token(t1, kToken);
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(who->name, "ben.okafor@club.example");
    EXPECT_FALSE(m.by_token(t1, std::string(64, 'b')).has_value()); // another daemon's key
    std::string forged = t1;
    forged.back() = forged.back() == '0' ? '1' : '0';
    EXPECT_FALSE(m.by_token(forged, kToken).has_value());
    std::string t2 = m.issue_token("ben.okafor@club.example", kToken);
    EXPECT_FALSE(m.by_token(t1, kToken).has_value()); // the old one is revoked
    EXPECT_TRUE(m.by_token(t2, kToken).has_value());
    for (const char* junk : {"", ".", "..", "a.b.c", "ben.x.abc", "nobody.1.00"})
        EXPECT_FALSE(m.by_token(junk, kToken).has_value()) << junk;
    m.remove("ben.okafor@club.example");
    EXPECT_FALSE(m.by_token(t2, kToken).has_value());
}

// `sudo rapportctl member add/token` before or beside a daemon running as
// its own user: the files root creates belong to the state directory's owner.
TEST(Members, FilesRootCreatesBelongToTheStateDirsOwner) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    std::string st = temp_state();
    ASSERT_EQ(::chown(st.c_str(), 65534, 65534), 0); // as a service user's StateDirectory
    {
        Members m(st);
        m.add("amira", "amira-pass-1", "", Role::member);
        m.issue_token("amira", load_or_create_token(st));
    }
    for (const char* f : {"/members.db", "/api-token"}) {
        struct stat sb{};
        ASSERT_EQ(::stat((st + f).c_str(), &sb), 0) << f;
        EXPECT_EQ(sb.st_uid, 65534u) << f;
        EXPECT_EQ(sb.st_mode & 0777, 0600u) << f;
    }
    // Root's own state directory: root keeps its files.
    std::string mine = temp_state();
    Members(mine).add("ben", "ben-pass-22", "", Role::member);
    struct stat sb{};
    ASSERT_EQ(::stat((mine + "/members.db").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, 0u);
}
