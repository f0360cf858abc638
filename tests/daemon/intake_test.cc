// Intake: end-of-DATA to reply - spool, verdict, route - with a real queue,
// real verdict lanes and the hold lifecycle, in capture mode (no upstream).

#include "daemon/lib/intake.h"

#include "daemon/lib/hold.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/verdict.h"
#include "policies/policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rd = rapport::daemon;
namespace rp = rapport::policies;

namespace {

const std::string kToken(64, 't');

std::string letter(const std::string& subject, const std::string& extra_header = "") {
    return "From: Ann Lee <ann@x.example>\r\n"
           "To: Jo Smith <jo.smith@acmerobotics.co.uk>\r\n"
           "Subject: " + subject + "\r\n"
           "Message-ID: <intake-1@x.example>\r\n" + extra_header +
           "\r\n"
           "Dear Jo,\r\n\r\n"
           "I am applying for the warehouse operative role at Acme Robotics. I have three years of experience "
           "in logistics and forklift driving, and I would love to join your team in Leeds next spring.\r\n\r\n"
           "Kind regards,\r\nAnn\r\n";
}

rd::Envelope envelope() { return {"ann@x.example", {"jo.smith@acmerobotics.co.uk"}, "", "h", "127.0.0.1", 0, false}; }

class Intake : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rapport-intake-XXXXXX";
        cfg.state_dir = ::mkdtemp(tmpl);
        cfg.hostname = "rapport.test";
        cfg.spool_threads = 2;
        queue = std::make_unique<rd::Queue>(cfg.state_dir);
    }
    void start(const rp::Policy& policy) {
        verdict = std::make_unique<rd::VerdictStage>(policy, cfg.state_dir + "/history.db", 1);
        holds = std::make_unique<rd::Holds>(cfg, *queue, nullptr, nullptr, nullptr, kToken, log_fn());
        intake = std::make_unique<rd::Intake>(cfg, *queue, *verdict, nullptr, *holds, nullptr, log_fn());
    }
    void TearDown() override {
        intake.reset();
        verdict.reset();
        holds.reset();
        queue.reset();
        std::filesystem::remove_all(cfg.state_dir);
    }
    rd::LogFn log_fn() {
        return [this](const std::string& line) {
            std::lock_guard lk(log_mu);
            logged.push_back(line);
        };
    }
    // The reply to one message, as the SMTP session would send it.
    std::string submit(const std::string& data, rd::Envelope env = envelope()) {
        std::promise<std::string> reply;
        intake->submit(env, data, [&](std::string r) { reply.set_value(std::move(r)); });
        auto f = reply.get_future();
        EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        return f.get();
    }
    static std::string id_in(const std::string& reply) {
        auto p = reply.find("queued as ");
        if (p == std::string::npos) return "";
        std::string id = reply.substr(p + 10);
        while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
        return id;
    }
    // The message's row once the verdict behind an early 250 has been routed.
    std::optional<rd::QueueRow> settled(const std::string& id) {
        intake->stop();
        verdict->stop();
        return queue->row(id);
    }
    bool logged_line_with(const std::string& part) {
        std::lock_guard lk(log_mu);
        for (const auto& l : logged)
            if (l.find(part) != std::string::npos) return true;
        return false;
    }

    rd::Config cfg;
    std::unique_ptr<rd::Queue> queue;
    std::unique_ptr<rd::VerdictStage> verdict;
    std::unique_ptr<rd::Holds> holds;
    std::unique_ptr<rd::Intake> intake;
    std::mutex log_mu;
    std::vector<std::string> logged;
};

TEST_F(Intake, CleanMailIsAcknowledgedAndKeptInCaptureMode) {
    start(rp::default_policy());
    std::string reply = submit(letter("Warehouse operative role"));
    ASSERT_EQ(reply.rfind("250 2.0.0 Ok: queued as ", 0), 0u) << reply;
    auto row = settled(id_in(reply));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, rd::Status::captured);
    EXPECT_EQ(row->action, "relay");
    EXPECT_TRUE(queue->read_spool(row->id)); // the copy is kept
}

TEST_F(Intake, ARejectRuleRefusesWithTheFindingsAndKeepsNoCopy) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"reject\"\n", "strict.toml"));
    std::string reply = submit(letter("CV"));
    EXPECT_EQ(reply.rfind("550-5.7.1 Rapport did not send this message:", 0), 0u) << reply;
    EXPECT_NE(reply.find("[vague-subject]"), std::string::npos) << reply;
    auto rejected = queue->rows_with_status(rd::Status::rejected);
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_FALSE(queue->read_spool(rejected[0].id));
    EXPECT_TRUE(queue->spool_ids().empty());
}

TEST_F(Intake, AHoldRuleHoldsTheMessageAndLogsTheRules) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string reply = submit(letter("CV"));
    auto row = settled(id_in(reply));
    ASSERT_TRUE(row) << reply;
    EXPECT_EQ(row->status, rd::Status::held);
    EXPECT_TRUE(logged_line_with("held " + row->id + " from=<ann@x.example> rules=vague-subject"));
}

TEST_F(Intake, TheSendersConfirmationLetsAHeldMessageGo) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string confirm = "X-Rapport-Confirm: " + rd::confirm_value(kToken, "intake-1@x.example") + "\r\n";
    std::string reply = submit(letter("CV", confirm));
    auto row = settled(id_in(reply));
    ASSERT_TRUE(row) << reply;
    EXPECT_EQ(row->status, rd::Status::captured);
    EXPECT_TRUE(logged_line_with("confirmed " + row->id));
}

TEST_F(Intake, AForgedConfirmationIsHeldAnyway) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string confirm = "X-Rapport-Confirm: " + rd::confirm_value(std::string(64, 'x'), "intake-1@x.example") + "\r\n";
    auto row = settled(id_in(submit(letter("CV", confirm))));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, rd::Status::held);
    EXPECT_TRUE(logged_line_with("does not match this message; holding"));
}

TEST_F(Intake, ReleaseAndDropAreDecidedOnce) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string a = id_in(submit(letter("CV"))), b = id_in(submit(letter("CV")));
    settled(a);
    auto r = holds->release(a, "test");
    EXPECT_TRUE(r.changed);
    EXPECT_EQ(r.status, rd::Status::captured); // capture mode: released, but nothing leaves
    EXPECT_FALSE(holds->release(a, "test").changed);
    EXPECT_FALSE(holds->drop(a, "test").changed); // no longer held
    auto d = holds->drop(b, "test");
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(queue->row(b)->status, rd::Status::dropped);
    EXPECT_FALSE(queue->read_spool(b)); // a discarded message's copy goes
}

TEST_F(Intake, HeldMailExpires) {
    cfg.hold.expire = 1;
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string id = id_in(submit(letter("CV")));
    settled(id);
    EXPECT_EQ(holds->expire_due(std::time(nullptr) + 10), 1u);
    EXPECT_EQ(queue->row(id)->status, rd::Status::expired);
    EXPECT_TRUE(queue->read_spool(id)); // kept, so the sender can still see it
    EXPECT_TRUE(holds->drop(id, "test").changed);
}

TEST_F(Intake, RecoveryJudgesASpooledMessageThatHasNoRow) {
    start(rp::parse_policy("[rules.vague-subject]\naction = \"hold\"\n", "hold.toml"));
    std::string id = queue->new_id();
    queue->write_spool(id, envelope(), letter("CV")); // as a crash between fsync and row leaves it
    intake->recover();
    auto row = queue->row(id);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, rd::Status::held);
}

TEST_F(Intake, RecoveryRemovesACopyWhoseMessageIsFinished) {
    start(rp::default_policy());
    std::string id = id_in(submit(letter("Warehouse operative role")));
    settled(id);
    queue->set_status(id, rd::Status::relayed); // the unlink did not survive the crash
    intake->recover();
    EXPECT_FALSE(queue->read_spool(id));
}

} // namespace
