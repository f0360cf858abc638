// VerdictStage: one judging service for the proxy, drafts and sent mail -
// whose history a message joins, when it joins it, policy reloads, and the
// JSON the queue keeps.

#include "daemon/lib/verdict.h"

#include "mime/message.h"
#include "policies/history.h"
#include "policies/policy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>

namespace rd = rapport::daemon;
namespace rp = rapport::policies;
using Record = rd::VerdictStage::Record;

namespace {

// A letter to Jo at Acme Robotics that names the firm.
std::string letter(const std::string& from, const std::string& to, const std::string& subject) {
    return "From: Ann Lee <" + from + ">\r\n"
           "To: Jo Smith <" + to + ">\r\n"
           "Subject: " + subject + "\r\n"
           "Message-ID: <letter-1@x.example>\r\n"
           "\r\n"
           "Dear Jo,\r\n\r\n"
           "I am applying for the warehouse operative role at Acme Robotics. I have three years of experience "
           "in logistics and forklift driving, and I would love to join your team in Leeds next spring.\r\n\r\n"
           "Kind regards,\r\nAnn\r\n";
}

const std::string kToAcme = "jo.smith@acmerobotics.co.uk";

bool has_rule(const std::vector<rp::Finding>& fs, const std::string& rule) {
    return std::any_of(fs.begin(), fs.end(), [&](const rp::Finding& f) { return f.rule == rule; });
}

class Verdict : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rapport-verdict-XXXXXX";
        dir = ::mkdtemp(tmpl);
        db = dir + "/history.db";
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    // The organisations `account` has written to, as the history holds them.
    std::vector<std::string> written_to(rd::VerdictStage& stage, const std::string& account) {
        stage.stop(); // flushes the lanes' write-behind
        return rp::SqliteHistory(db).organisations(account, 0);
    }
    // A draft to someone at another firm that still names Acme: the
    // sender's history decides whether it is a copy-paste leftover.
    rp::Verdict draft_to_beta(rd::VerdictStage& stage, const std::string& from, const std::string& login = "") {
        auto m = rapport::mime::parse(letter(from, "priya.shah@betalogistics.com", "Warehouse operative role"));
        rp::CheckContext ctx;
        ctx.login = login;
        return stage.check(m, ctx, Record::no);
    }
    std::string dir, db;
};

TEST_F(Verdict, ProxiedMailJoinsTheHistoryOfItsFromAddress) {
    rd::VerdictStage stage(rp::default_policy(), db, 2);
    rd::Envelope env{"bounces+ann@lists.x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, letter("Ann@X.example", kToAcme, "Warehouse operative role"),
                                  Record::unless_rejected);
    EXPECT_EQ(j.error, "");
    EXPECT_EQ(j.account, "ann@x.example"); // the From address, not the envelope's
    EXPECT_TRUE(j.application);
    EXPECT_EQ(j.info.header_from, "Ann@X.example");
    // A draft from the same address is judged against that history.
    EXPECT_TRUE(has_rule(draft_to_beta(stage, "ann@x.example").findings, "wrong-organisation"));
    EXPECT_EQ(written_to(stage, "ann@x.example"), std::vector<std::string>{"acmerobotics"});
}

TEST_F(Verdict, ALoginOwnsItsMailWhateverTheFromAddress) {
    rd::VerdictStage stage(rp::default_policy(), db, 2);
    rd::Envelope env{"ann@x.example", {kToAcme}, "amira", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, letter("ann@x.example", kToAcme, "Warehouse operative role"),
                                  Record::unless_rejected);
    EXPECT_EQ(j.account, "amira");
    EXPECT_FALSE(has_rule(draft_to_beta(stage, "ann@x.example").findings, "wrong-organisation"));
    EXPECT_TRUE(has_rule(draft_to_beta(stage, "ann@x.example", "amira").findings, "wrong-organisation"));
    EXPECT_TRUE(written_to(stage, "ann@x.example").empty());
}

TEST_F(Verdict, DraftsAreNeverRecorded) {
    rd::VerdictStage stage(rp::default_policy(), db, 1);
    auto m = rapport::mime::parse(letter("ann@x.example", kToAcme, "Warehouse operative role"));
    rp::Verdict v = stage.check(m, {}, Record::no);
    EXPECT_EQ(v.recipients, std::vector<std::string>{kToAcme});
    EXPECT_TRUE(written_to(stage, "ann@x.example").empty());
}

TEST_F(Verdict, ARejectedMessageNeverLeftSoItIsNotRecorded) {
    rp::Policy strict = rp::parse_policy("[rules.vague-subject]\naction = \"reject\"\n", "strict.toml");
    rd::VerdictStage stage(strict, db, 1);
    EXPECT_TRUE(stage.can_reject());
    rd::Envelope env{"ann@x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, letter("ann@x.example", kToAcme, "CV"), Record::unless_rejected);
    EXPECT_EQ(j.action, rp::Action::reject);
    EXPECT_TRUE(has_rule(j.findings, "vague-subject"));
    EXPECT_TRUE(written_to(stage, "ann@x.example").empty());
}

TEST_F(Verdict, MailThatHasLeftIsRecordedEvenWhenItWouldBeRejected) {
    rp::Policy strict = rp::parse_policy("[rules.vague-subject]\naction = \"reject\"\n", "strict.toml");
    rd::VerdictStage stage(strict, db, 1);
    auto m = rapport::mime::parse(letter("ann@x.example", kToAcme, "CV"));
    rp::Verdict v = stage.check(m, {}, Record::yes);
    EXPECT_EQ(v.action, rp::Action::reject);
    EXPECT_EQ(written_to(stage, "ann@x.example"), std::vector<std::string>{"acmerobotics"});
}

TEST_F(Verdict, JudgedAgainAfterACrashIsNotRecordedTwice) {
    rd::VerdictStage stage(rp::default_policy(), db, 1);
    rd::Envelope env{"ann@x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    stage.judge(env, letter("ann@x.example", kToAcme, "Warehouse operative role"), Record::no);
    EXPECT_TRUE(written_to(stage, "ann@x.example").empty());
}

TEST_F(Verdict, AReloadedPolicyAppliesToTheNextMessageEverywhere) {
    rd::VerdictStage stage(rp::default_policy(), db, 2);
    auto m = rapport::mime::parse(letter("ann@x.example", kToAcme, "CV"));
    EXPECT_TRUE(has_rule(stage.check(m, {}, Record::no).findings, "vague-subject"));
    stage.set_policy(rp::parse_policy("[rules.vague-subject]\naction = \"off\"\n", "quiet.toml"));
    EXPECT_FALSE(has_rule(stage.check(m, {}, Record::no).findings, "vague-subject"));
    rd::Envelope env{"ann@x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, letter("ann@x.example", kToAcme, "CV"), Record::no);
    EXPECT_FALSE(has_rule(j.findings, "vague-subject"));
    EXPECT_FALSE(stage.can_reject());
}

TEST_F(Verdict, AMembersGroupPicksTheRules) {
    rp::Policy p = rp::parse_policy("[groups.strict.rules.vague-subject]\naction = \"hold\"\n", "club.toml");
    rd::VerdictStage stage(p, db, 1);
    stage.set_group_lookup([](const std::string& login) { return login == "amira" ? "strict" : ""; });
    auto m = rapport::mime::parse(letter("ann@x.example", kToAcme, "CV"));
    rp::CheckContext member;
    member.login = "amira";
    EXPECT_EQ(stage.check(m, member, Record::no).action, rp::Action::hold);
    EXPECT_EQ(stage.check(m, {}, Record::no).action, rp::Action::warn);
}

TEST_F(Verdict, TheQueueKeepsTheFindingsAsSpecJson) {
    rd::VerdictStage stage(rp::default_policy(), db, 1);
    rd::Envelope env{"ann@x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, letter("ann@x.example", kToAcme, "CV"), Record::no);
    auto arr = nlohmann::json::parse(j.info.findings_json);
    ASSERT_TRUE(arr.is_array());
    ASSERT_FALSE(arr.empty());
    EXPECT_EQ(arr, rp::to_json(j.findings));
    EXPECT_EQ(arr[0].value("rule", ""), j.findings[0].rule);
    EXPECT_EQ(j.info.action, "warn");
}

TEST_F(Verdict, UnparseableBytesStillGetAnAnswer) {
    rd::VerdictStage stage(rp::default_policy(), db, 1);
    rd::Envelope env{"Ann@X.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
    rd::Judgement j = stage.judge(env, std::string("\0\0\0garbage", 10), Record::unless_rejected);
    EXPECT_NE(j.info.action, "");
    EXPECT_EQ(j.account, "ann@x.example"); // no From header: the envelope's sender
}

TEST_F(Verdict, AsyncJudgementsOfOneSenderRunInOrder) {
    rd::VerdictStage stage(rp::default_policy(), db, 2);
    std::vector<int> order;
    std::mutex mu;
    std::promise<void> done;
    const int n = 8;
    for (int i = 0; i < n; ++i) {
        rd::Envelope env{"ann@x.example", {kToAcme}, "", "h", "127.0.0.1", 0, false};
        stage.judge_async(env, letter("ann@x.example", kToAcme, "Warehouse operative role"), Record::no,
                          [&, i](rd::Judgement, rd::Envelope, std::string) {
                              std::lock_guard lk(mu);
                              order.push_back(i);
                              if (static_cast<int>(order.size()) == n) done.set_value();
                          });
    }
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
    for (int i = 0; i < n; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

} // namespace
