// Unit tests for daemon/lib/logins: hashed config passwords, failures per
// client address, the delay that does not depend on the user, lockout.

#include "daemon/lib/logins.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

using namespace rapport::daemon;
using Outcome = Logins::Result::Outcome;

namespace {
std::string tmpdir() {
    char t[] = "/tmp/rapport-logins-test-XXXXXX";
    return mkdtemp(t);
}

Logins::Result check(Logins& l, const std::string& client, const std::string& user, const std::string& pass) {
    std::promise<Logins::Result> p;
    auto f = p.get_future();
    l.check(client, user, pass, [&p](Logins::Result r) { p.set_value(std::move(r)); });
    return f.get();
}
} // namespace

TEST(Logins, ConfigPasswordsAreKeptOnlyAsHashes) {
    auto dir = tmpdir();
    Members members(dir);
    members.add("amira", "amira-pass-1", "", Role::member);
    std::string given = hash_password("from the file");
    std::map<std::string, std::string> users{{"jake", "correct horse"}, {"pre", given}};
    Logins l(users, &members, AuthLimits{}, [](const std::string&) {});
    EXPECT_EQ(users["jake"].rfind("$argon2id$", 0), 0u) << "the plain password is replaced";
    EXPECT_EQ(users["pre"], given) << "a hash is used as it is";
    EXPECT_TRUE(l.any());
    auto r = check(l, "192.0.2.1", "jake", "correct horse");
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.account, "jake");
    EXPECT_EQ(check(l, "192.0.2.1", "pre", "from the file").outcome, Outcome::ok);
    r = check(l, "192.0.2.1", "AMIRA", "amira-pass-1");
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.account, "amira"); // the member's name, as stored
    std::filesystem::remove_all(dir);
}

TEST(Logins, FailuresAreAnsweredLaterPerAddressThenRefused) {
    std::map<std::string, std::string> users{{"jake", "correct horse"}};
    AuthLimits lim;
    lim.failure_delay = 1;
    lim.max_failures = 3;
    lim.lockout = 60;
    std::vector<std::string> logged;
    Logins l(users, nullptr, lim, [&](const std::string& s) { logged.push_back(s); });
    auto t0 = Logins::Clock::now();
    auto r1 = check(l, "192.0.2.1", "jake", "one");
    EXPECT_EQ(r1.outcome, Outcome::wrong);
    EXPECT_GE(r1.answer_at - t0, std::chrono::milliseconds(990));
    EXPECT_LT(r1.answer_at - t0, std::chrono::milliseconds(1500));
    // The same delay for a name nobody has: it does not tell who exists.
    auto t1 = Logins::Clock::now();
    auto other = check(l, "192.0.2.9", "nobody", "x");
    EXPECT_EQ(other.outcome, Outcome::wrong);
    EXPECT_GE(other.answer_at - t1, std::chrono::milliseconds(990));
    // The second failure from 192.0.2.1 may not even be checked before the
    // first is answered; it is answered 2 s after it was made.
    auto t2 = Logins::Clock::now();
    auto r2 = check(l, "192.0.2.1", "jake", "two");
    EXPECT_EQ(r2.outcome, Outcome::wrong);
    EXPECT_GE(r2.answer_at, r1.answer_at);
    EXPECT_GE(r2.answer_at - t2, std::chrono::milliseconds(1990));
    EXPECT_EQ(check(l, "192.0.2.1", "jake", "three").outcome, Outcome::wrong);
    EXPECT_EQ(l.failures("192.0.2.1"), 3u);
    // Locked out: refused at once, the right password too; others are not.
    auto r4 = check(l, "192.0.2.1", "jake", "correct horse");
    EXPECT_EQ(r4.outcome, Outcome::refused);
    EXPECT_EQ(r4.reply.rfind("454 4.7.0", 0), 0u) << r4.reply;
    EXPECT_EQ(check(l, "192.0.2.2", "jake", "correct horse").outcome, Outcome::ok);
    bool said = false;
    for (const auto& s : logged) said |= s.find("3 failed logins from 192.0.2.1") != std::string::npos;
    EXPECT_TRUE(said);
}
