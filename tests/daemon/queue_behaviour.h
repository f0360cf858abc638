// queue_behaviour.h - what every QueueState must do, whatever keeps it:
// the same tests run on SQLite (queue_test.cc) and on PostgreSQL
// (tests/store/store_test.cc), so that the two cannot drift apart.
//
// A suite instantiates QueueBehaviour with a QueueStore maker: each test
// gets a new, empty store, and each open(node) is another connection to
// it - another rapportd, when the store is shared.
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, QueueBehaviour, ::testing::Values(QueueMaker{"sqlite", make}),
//                            QueueBehaviour::name);

#pragma once

#include "daemon/lib/queue_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace rapport::daemon::behaviour {

// One empty store for one test.
class QueueStore {
public:
    virtual ~QueueStore() = default;
    virtual std::unique_ptr<QueueState> open(const std::string& node) = 0;
};

struct QueueMaker {
    std::string name; // the test name's suffix
    std::function<std::unique_ptr<QueueStore>()> make;
};
inline void PrintTo(const QueueMaker& m, std::ostream* os) { *os << m.name; }

class QueueBehaviour : public ::testing::TestWithParam<QueueMaker> {
protected:
    void SetUp() override {
        store_ = GetParam().make();
        a = store_->open("node-a");
    }
    void TearDown() override {
        a.reset();
        store_.reset();
    }
    std::unique_ptr<QueueState> open(const std::string& node) { return store_->open(node); }

    // A message as intake records it: its envelope and what the checks found.
    static Envelope env(std::vector<std::string> rcpts = {"c@d.example", "e@f.example"}, std::string account = "",
                        std::int64_t received = 1700000000) {
        return Envelope{"Ann@B.example", std::move(rcpts), std::move(account), "helo.example", "127.0.0.1", received,
                        false};
    }
    static MessageInfo info(std::string action = "relay") {
        return MessageInfo{std::move(action), "[]", "Subject", "ann@b.example", "c@d.example", "<m@b.example>", 42};
    }
    static std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
    // A spool image as Queue writes it (only a shared store keeps it).
    static std::string image(const std::string& text) { return "RAPPORT-SPOOL 1\nfrom a@b\n\n" + text; }

    std::unique_ptr<QueueState> a; // node A

public:
    static std::string name(const ::testing::TestParamInfo<QueueMaker>& info) { return info.param.name; }

private:
    std::unique_ptr<QueueStore> store_;
};

TEST_P(QueueBehaviour, InsertThenRowAndRecipients) {
    a->insert("m1", env(), info(), Status::queued, 123, image("one"));
    auto r = a->row("m1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "m1");
    EXPECT_EQ(r->status, Status::queued);
    EXPECT_EQ(r->action, "relay");
    EXPECT_EQ(r->attempts, 0);
    EXPECT_EQ(r->received, 1700000000);
    EXPECT_EQ(r->next_attempt, 123);
    EXPECT_EQ(r->mail_from, "Ann@B.example");
    EXPECT_FALSE(r->notice);
    auto rc = a->recipients("m1");
    ASSERT_EQ(rc.size(), 2u);
    EXPECT_EQ(rc[0].rcpt, "c@d.example"); // in RCPT TO order
    EXPECT_EQ(rc[1].rcpt, "e@f.example");
    EXPECT_EQ(rc[0].status, "pending");
    EXPECT_FALSE(a->row("nope"));
    EXPECT_TRUE(a->recipients("nope").empty());
    // Inserted again (intake routing it again after a write it could not
    // confirm): one row, as the second insert says.
    a->insert("m1", env({"x@y.example"}), info(), Status::queued, 0, image("one"));
    EXPECT_EQ(a->row("m1")->next_attempt, 0);
    ASSERT_EQ(a->recipients("m1").size(), 1u);
    EXPECT_EQ(a->rows_with_status(Status::queued).size(), 1u);
    EXPECT_TRUE(a->rows_with_status(Status::held).empty());
}

TEST_P(QueueBehaviour, AnotherNodeSeesTheSameRows) {
    auto b = open("node-b");
    a->insert("m1", env(), info(), Status::queued, 0, image("one"));
    ASSERT_TRUE(b->row("m1"));
    EXPECT_EQ(b->record("m1")->info.subject, "Subject");
    if (a->shared()) {
        EXPECT_EQ(b->image("m1"), image("one"));
    } else {
        EXPECT_FALSE(a->image("m1")); // one machine: the spool keeps it
    }
}

TEST_P(QueueBehaviour, ReleaseIsIdempotent) {
    auto b = open("node-b");
    a->insert("m1", env(), info("hold"), Status::held, 0, image("one"));
    EXPECT_TRUE(b->release("m1"));
    EXPECT_FALSE(a->release("m1")); // a second click, on either node, releases nothing
    EXPECT_FALSE(b->release("m1"));
    EXPECT_EQ(a->row("m1")->status, Status::queued);
    EXPECT_EQ(a->row("m1")->next_attempt, 0);
    EXPECT_FALSE(a->release("nope"));
}

TEST_P(QueueBehaviour, DropOnlyHeldOrExpired) {
    a->insert("h", env(), info("hold"), Status::held, 0, image("h"));
    a->insert("q", env(), info(), Status::queued, 0, image("q"));
    EXPECT_FALSE(a->drop("q"));
    EXPECT_TRUE(a->drop("h"));
    EXPECT_FALSE(a->drop("h"));
    EXPECT_EQ(a->row("h")->status, Status::dropped);
    EXPECT_FALSE(a->image("h")); // no copy kept of dropped mail
    a->insert("x", env(), info("hold"), Status::held, 0, image("x"));
    EXPECT_EQ(a->expire_held(1700000001), std::vector<std::string>{"x"});
    EXPECT_TRUE(a->drop("x"));
}

TEST_P(QueueBehaviour, ExpiryReturnsEachIdOnce) {
    auto b = open("node-b");
    a->insert("old1", env({"c@d.example"}, "", 100), info("hold"), Status::held, 0, image("1"));
    a->insert("old2", env({"c@d.example"}, "", 200), info("hold"), Status::held, 0, image("2"));
    a->insert("new", env({"c@d.example"}, "", 5000), info("hold"), Status::held, 0, image("3"));
    a->insert("q", env({"c@d.example"}, "", 100), info(), Status::queued, 0, image("4"));
    auto first = b->expire_held(1000);
    std::sort(first.begin(), first.end());
    EXPECT_EQ(first, (std::vector<std::string>{"old1", "old2"}));
    EXPECT_TRUE(a->expire_held(1000).empty()); // the other node's sweep finds nothing more
    EXPECT_EQ(a->row("old1")->status, Status::expired);
    EXPECT_EQ(a->row("new")->status, Status::held);
    EXPECT_EQ(a->row("q")->status, Status::queued);
    if (a->shared()) {
        EXPECT_TRUE(a->image("old1")); // expired mail stays visible
    }
}

TEST_P(QueueBehaviour, ConfirmNonceIsGoodForOneMessage) {
    auto b = open("node-b");
    std::int64_t t = 1700000000;
    EXPECT_TRUE(a->use_confirm_nonce("n1", "<m1@x>", t, t - 100));
    EXPECT_TRUE(b->use_confirm_nonce("n1", "<m1@x>", t + 1, t - 100)); // the client's retry of that message
    EXPECT_FALSE(b->use_confirm_nonce("n1", "<m2@x>", t + 1, t - 100)); // another message: no
    EXPECT_TRUE(a->use_confirm_nonce("n2", "", t, t - 100));
    EXPECT_FALSE(a->use_confirm_nonce("n2", "", t, t - 100)); // no Message-ID: once only
    // Forgotten once older than forget_before: new again.
    EXPECT_TRUE(a->use_confirm_nonce("n1", "<m3@x>", t + 1000, t + 500));
}

TEST_P(QueueBehaviour, ListFilters) {
    a->insert("1", env({"c@d.example"}, "", 10), info("hold"), Status::held, 0, image("1"));
    a->insert("2", env({"c@d.example"}, "amira", 20), info("warn"), Status::queued, 0, image("2"));
    a->insert("3", env({"c@d.example"}, "amira", 30), info("hold"), Status::held, 0, image("3"));
    Envelope notice = env({"ann@b.example"}, "", 40);
    notice.notice = true;
    a->insert("4", notice, info(), Status::queued, 0, image("4"));
    auto ids = [](const std::vector<QueueRecord>& rs) {
        std::vector<std::string> out;
        for (const auto& r : rs) out.push_back(r.row.id);
        return out;
    };
    EXPECT_EQ(ids(a->list(std::nullopt, "", 10, std::nullopt)), (std::vector<std::string>{"3", "2", "1"})); // newest first, no notices
    EXPECT_EQ(ids(a->list(Status::held, "", 10, std::nullopt)), (std::vector<std::string>{"3", "1"}));
    EXPECT_EQ(ids(a->list(std::nullopt, "warn", 10, std::nullopt)), std::vector<std::string>{"2"});
    EXPECT_EQ(ids(a->list(std::nullopt, "", 10, std::string_view("amira"))), (std::vector<std::string>{"3", "2"}));
    EXPECT_EQ(ids(a->list(Status::held, "hold", 10, std::string_view("amira"))), std::vector<std::string>{"3"});
    EXPECT_EQ(ids(a->list(std::nullopt, "", 1, std::nullopt)), std::vector<std::string>{"3"});
    auto rec = a->record("3");
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->account, "amira");
    EXPECT_EQ(rec->helo, "helo.example");
    EXPECT_EQ(rec->info.message_id, "<m@b.example>");
    EXPECT_EQ(rec->info.size, 42u);
    EXPECT_FALSE(rec->released);
    EXPECT_TRUE(a->release("3"));
    a->add_event("3", "released");
    a->add_event("2", "confirmed");
    EXPECT_TRUE(a->record("3")->released);
    std::map<std::string, std::int64_t> counts;
    for (const auto& [s, n] : a->status_counts()) counts[s] = n;
    EXPECT_EQ(counts, (std::map<std::string, std::int64_t>{{"held", 1}, {"queued", 2}})); // notices not counted
    auto stats = a->stat_rows();
    ASSERT_EQ(stats.size(), 3u);
    for (const auto& s : stats) {
        // No account: the lower-case envelope sender.
        EXPECT_EQ(s.sender, s.status == "held" ? "ann@b.example" : "amira");
        EXPECT_EQ(s.confirmed, s.action == "warn");
        EXPECT_EQ(s.released, s.action == "hold" && s.status == "queued");
    }
}

// Intent, then outcome: a row whose intent has no outcome was being sent
// when its node stopped.
TEST_P(QueueBehaviour, AttemptIntentAndOutcome) {
    a->insert("m1", env(), info(), Status::queued, 0, image("one"));
    EXPECT_TRUE(a->interrupted().empty());
    EXPECT_TRUE(a->begin_attempt("m1", 1, 12345));
    EXPECT_EQ(a->row("m1")->attempts, 1);
    EXPECT_EQ(a->row("m1")->next_attempt, 12345);
    EXPECT_EQ(a->interrupted(), std::vector<std::string>{"m1"});
    a->record_attempt("m1", {{"c@d.example", "sent", 250, "ok"}, {"e@f.example", "pending", 451, "later"}},
                      Status::queued, 1, 12345, "");
    EXPECT_TRUE(a->interrupted().empty());
    auto rc = a->recipients("m1");
    ASSERT_EQ(rc.size(), 2u);
    EXPECT_EQ(rc[0].status, "sent");
    EXPECT_EQ(rc[0].code, 250);
    EXPECT_EQ(rc[1].status, "pending");
    EXPECT_EQ(rc[1].reply, "later");
    auto at = a->attempts("m1");
    ASSERT_EQ(at.size(), 1u);
    EXPECT_NE(at[0].result.find("c@d.example=250"), std::string::npos) << at[0].result;
    EXPECT_TRUE(a->begin_attempt("m1", 2, 99999));
    a->record_attempt("m1", {{"e@f.example", "sent", 250, "ok"}}, Status::relayed, 2, 0, "");
    EXPECT_EQ(a->row("m1")->status, Status::relayed);
    EXPECT_EQ(a->attempts("m1").size(), 2u);
    EXPECT_FALSE(a->image("m1")); // finished: no copy kept
    // Not queued (relayed, held, dropped): no intent, nothing to send.
    EXPECT_FALSE(a->begin_attempt("m1", 3, 0));
    a->set_status("m1", Status::held);
    EXPECT_FALSE(a->begin_attempt("m1", 3, 0));
    EXPECT_FALSE(a->begin_attempt("nope", 1, 0));
}

TEST_P(QueueBehaviour, ProbeWrites) { EXPECT_NO_THROW(a->probe_write()); }

} // namespace rapport::daemon::behaviour
