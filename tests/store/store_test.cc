// store_test.cc - store/ against a real PostgreSQL 15, started for the run
// by the ctest fixture (pg_server.py start; RAPPORT_TEST_PG names its
// folder). No PostgreSQL, no pass: a missing server fails every test.
//
// Tests run in parallel processes against one database, so each uses
// senders, members and allow-list values of its own, or a schema of its own (the
// history behaviour tests, which name their senders as on SQLite).

#include "daemon/lib/hold.h"
#include "daemon/lib/intake.h"
#include "daemon/lib/members.h"
#include "daemon/lib/outcomes.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/verdict.h"
#include "policies/history.h"
#include "policies/policy.h"
#include "store/pg.h"
#include "store/pg_history.h"
#include "store/pg_ledger.h"
#include "store/pg_members.h"
#include "store/pg_queue.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/daemon/queue_behaviour.h"
#include "tests/policies/history_behaviour.h"
#include "tests/policies/ledger_behaviour.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace rapport::store {
namespace {

namespace rp = rapport::policies;

std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

// The fixture's server, as rapportd would reach it (password in the URL).
std::string url() {
    const char* dir = std::getenv("RAPPORT_TEST_PG");
    if (!dir) {
        ADD_FAILURE() << "RAPPORT_TEST_PG is not set: run through ctest (the store_pg fixture starts PostgreSQL)";
        return "postgresql://nobody@127.0.0.1:1/none";
    }
    std::string u = read_line(std::string(dir) + "/url");
    EXPECT_FALSE(u.empty()) << "no PostgreSQL URL in " << dir << "/url: the fixture did not start the server";
    return u + "?password=" + read_line(std::string(dir) + "/store.secret");
}

// A name no other test (or earlier run) uses.
std::string unique(const std::string& stem) {
    static std::mt19937_64 rng{std::random_device{}()};
    return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000000);
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

const char* const kLetter =
    "i am writing to apply for the position of warehouse operative at ORG . "
    "i have three years of experience in busy distribution centres and hold a forklift licence . "
    "in my last role i picked and packed over four hundred orders a day with an accuracy above ninety nine percent . "
    "i am reliable , punctual and happy to work early shifts , weekends and overtime when needed . "
    "i enjoy working in a team and i have trained new starters on safety procedures and stock rotation . "
    "i live close to your site and can start immediately after a short notice period . "
    "i would welcome the chance to discuss how i could help your team meet its targets . "
    "thank you for considering my application and i look forward to hearing from you soon . ";

// Sentences for letters of many shapes: a letter is 6-8 of them, so two
// letters share anything from nothing to everything.
const char* const kSentences[] = {
    "i saw your advert for a delivery driver on the council jobs board last friday .",
    "my clean driving licence and knowledge of the local roads would let me plan routes .",
    "customers have often praised my friendly manner on the doorstep .",
    "i keep accurate records of each drop using handheld scanners .",
    "your commitment to electric vans is something i would be proud to be part of .",
    "could we arrange a short call next week to talk about the route structure ?",
    "i have three years of experience in busy distribution centres .",
    "i am reliable , punctual and happy to work early shifts and weekends .",
    "i enjoy working in a team and have trained new starters on safety .",
    "i live close to your site and can start after a short notice period .",
    "thank you for considering my application , i look forward to hearing from you .",
    "my degree in logistics covered warehouse design and stock control .",
    "i volunteered at the food bank sorting donations every saturday .",
    "last summer i led a team of six during the peak season .",
    "i speak polish and english and some spanish .",
    "i would welcome the chance to discuss how i could help your team .",
};

rp::SentRecord rec(const std::string& sender, std::int64_t t, std::vector<std::string> to, const rp::Fingerprint& fp,
                   std::vector<std::string> orgs = {}) {
    rp::SentRecord r;
    r.sender = sender;
    r.time = t;
    r.recipients = std::move(to);
    r.organisations = std::move(orgs);
    r.print = fp;
    return r;
}

// The history behaviour tests (tests/policies/history_behaviour.h) on
// PostgreSQL: each test an empty schema of its own, found through the
// connection's search_path, so that rapportd's schema is created in it as
// in a database of its own; each open() another PgHistory on the same
// pool, as the lanes of one node.
class PgStore final : public rp::behaviour::HistoryStore {
public:
    PgStore() : schema_("t_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}())) {
        pg::Conn(url()).run("CREATE SCHEMA " + schema_);
        pool_ = std::make_unique<pg::Pool>(url() + "&options=-csearch_path%3D" + schema_, 4, nullptr);
        pg::Lease c = pool_->acquire();
        migrate(*c);
        allow_ = std::make_unique<AllowList>(*pool_);
    }
    ~PgStore() override {
        allow_.reset();
        pool_.reset(); // every connection closed before the schema goes
        try {
            pg::Conn(url()).run("DROP SCHEMA " + schema_ + " CASCADE");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "dropping " << schema_ << ": " << e.what();
        }
    }
    std::unique_ptr<rp::History> open() override { return std::make_unique<PgHistory>(*pool_, *allow_); }

private:
    std::string schema_;
    std::unique_ptr<pg::Pool> pool_;
    std::unique_ptr<AllowList> allow_;
};

using rp::behaviour::HistoryBehaviour;
using rp::behaviour::StoreMaker;
INSTANTIATE_TEST_SUITE_P(Pg, HistoryBehaviour,
                         ::testing::Values(StoreMaker{"postgresql", [] { return std::make_unique<PgStore>(); }}),
                         HistoryBehaviour::name);

// A schema of its own for one test, found through the connection's
// search_path, so that rapportd's tables are created in it as in a
// database of its own.
class Schema {
public:
    Schema() : name_("t_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}())) {
        pg::Conn(::rapport::store::url()).run("CREATE SCHEMA " + name_);
        pg::Conn c(url());
        migrate(c);
    }
    ~Schema() {
        try {
            pg::Conn(::rapport::store::url()).run("DROP SCHEMA " + name_ + " CASCADE");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "dropping " << name_ << ": " << e.what();
        }
    }
    std::string url() const { return ::rapport::store::url() + "&options=-csearch_path%3D" + name_; }

private:
    std::string name_;
};

// The queue behaviour tests (tests/daemon/queue_behaviour.h) on
// PostgreSQL: each test a schema of its own; each open(node) another
// PgQueueState with a pool of its own, as another rapportd.
class PgQueueStore final : public daemon::behaviour::QueueStore {
public:
    ~PgQueueStore() override { pools_.clear(); } // every connection closed before the schema goes
    std::unique_ptr<daemon::QueueState> open(const std::string& node) override {
        pools_.push_back(std::make_unique<pg::Pool>(schema_.url(), 2, nullptr));
        return std::make_unique<PgQueueState>(*pools_.back(), node);
    }

private:
    Schema schema_;
    std::vector<std::unique_ptr<pg::Pool>> pools_;
};

using daemon::behaviour::QueueBehaviour;
using daemon::behaviour::QueueMaker;
INSTANTIATE_TEST_SUITE_P(Pg, QueueBehaviour,
                         ::testing::Values(QueueMaker{"postgresql", [] { return std::make_unique<PgQueueStore>(); }}),
                         QueueBehaviour::name);

// What only a shared queue does: claims between nodes, due rows, the copy
// in the store, NOTIFY.
class PgQueue : public ::testing::Test {
protected:
    PgQueue() : pool_a(schema.url(), 4, nullptr), pool_b(schema.url(), 4, nullptr) {}
    static daemon::Envelope env(std::string from = "ann@b.example") {
        return daemon::Envelope{std::move(from), {"c@d.example"}, "", "helo", "127.0.0.1", 1700000000, false};
    }
    static daemon::MessageInfo info() { return {"relay", "[]", "s", "ann@b.example", "c@d.example", "<m@x>", 1}; }
    static std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
    Schema schema;
    pg::Pool pool_a, pool_b;
};

TEST_F(PgQueue, ClaimRefusedWhileAnotherNodesClaimIsLive) {
    PgQueueState a(pool_a, "node-a"), b(pool_b, "node-b");
    a.insert("m1", env(), info(), daemon::Status::queued, 0, "image");
    EXPECT_TRUE(a.begin_attempt("m1", 1, 0));
    EXPECT_FALSE(b.begin_attempt("m1", 1, 0)); // A is sending it: B sends nothing
    EXPECT_TRUE(b.due(now(), 10).empty());     // nor does B's poll offer it
    EXPECT_TRUE(b.interrupted().empty());
    EXPECT_EQ(a.interrupted(), std::vector<std::string>{"m1"});
    EXPECT_TRUE(a.begin_attempt("m1", 2, 0)); // A's own claim: after a restart, or a retry of its own
    a.record_attempt("m1", {{"c@d.example", "pending", 451, "later"}}, daemon::Status::queued, 2, 0, "later");
    EXPECT_EQ(b.due(now(), 10), std::vector<std::string>{"m1"}); // the outcome ends the claim
    EXPECT_TRUE(b.begin_attempt("m1", 3, now() + 60));
    EXPECT_FALSE(a.begin_attempt("m1", 3, 0));
}

// Intake routes a message again when it could not confirm the first
// insert (the connection broke after the commit): a row a relay or a
// person has taken up meanwhile is not reset, so nothing is sent twice.
TEST_F(PgQueue, InsertingAgainLeavesAMessageInProgressAlone) {
    PgQueueState a(pool_a, "node-a"), b(pool_b, "node-b");
    a.insert("m1", env(), info(), daemon::Status::queued, 0, "image");
    ASSERT_TRUE(b.begin_attempt("m1", 1, 0));
    b.record_attempt("m1", {{"c@d.example", "sent", 250, "ok"}}, daemon::Status::relayed, 1, 0, "");
    a.insert("m1", env(), info(), daemon::Status::queued, 0, "image");
    EXPECT_EQ(a.row("m1")->status, daemon::Status::relayed);
    EXPECT_EQ(a.recipients("m1")[0].status, "sent");
    a.insert("h1", env(), info(), daemon::Status::held, 0, "image");
    ASSERT_TRUE(b.release("h1"));
    a.insert("h1", env(), info(), daemon::Status::held, 0, "image");
    EXPECT_EQ(a.row("h1")->status, daemon::Status::queued); // released stays released
}

TEST_F(PgQueue, NotDueIsNotClaimed) {
    PgQueueState a(pool_a, "node-a");
    a.insert("later", env(), info(), daemon::Status::queued, now() + 3600, "image");
    EXPECT_FALSE(a.begin_attempt("later", 1, 0)); // another node's backoff stands
    EXPECT_TRUE(a.due(now(), 10).empty());
    EXPECT_EQ(a.due(now() + 3600, 10), std::vector<std::string>{"later"});
}

TEST_F(PgQueue, ALapsedLeaseLetsAnotherNodeTakeOver) {
    PgQueueState a(pool_a, "node-a", std::chrono::seconds(1)), b(pool_b, "node-b", std::chrono::seconds(1));
    a.insert("m1", env(), info(), daemon::Status::queued, 0, "image");
    EXPECT_TRUE(a.begin_attempt("m1", 1, 0)); // and then node A dies mid-send
    EXPECT_FALSE(b.begin_attempt("m1", 1, 0));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    EXPECT_EQ(b.due(now(), 10), std::vector<std::string>{"m1"});
    EXPECT_TRUE(b.begin_attempt("m1", 2, 0));
    EXPECT_FALSE(a.begin_attempt("m1", 2, 0));
}

// Eight nodes racing for the same messages: each message is claimed by
// exactly one of them. (Within one node the relay never works on one
// message twice at once: its schedule holds each id once.)
TEST_F(PgQueue, EachMessageIsClaimedOnceUnderContention) {
    PgQueueState a(pool_a, "node-a");
    constexpr int kMessages = 200;
    for (int i = 0; i < kMessages; ++i)
        a.insert("m" + std::to_string(i), env("s" + std::to_string(i % 7) + "@x.example"), info(),
                 daemon::Status::queued, 0, "image");
    std::atomic<int> claims{0};
    std::mutex mu;
    std::set<std::string> won;
    std::vector<std::thread> workers;
    for (int w = 0; w < 8; ++w)
        workers.emplace_back([&, w] {
            PgQueueState node(w % 2 ? pool_b : pool_a, "node-" + std::to_string(w));
            for (int i = 0; i < kMessages; ++i) {
                std::string id = "m" + std::to_string((i + w * 25) % kMessages);
                if (node.begin_attempt(id, 1, 0)) {
                    ++claims;
                    std::lock_guard lk(mu);
                    EXPECT_TRUE(won.insert(id).second) << id << " claimed twice";
                }
            }
        });
    for (auto& t : workers) t.join();
    EXPECT_EQ(claims.load(), kMessages);
    EXPECT_EQ(won.size(), static_cast<std::size_t>(kMessages));
}

// Nodes sweeping for expired held mail at the same moment: each message
// comes back to one of them, which alone records the 'expired' event.
TEST_F(PgQueue, ConcurrentExpirySweepsReturnEachMessageOnce) {
    PgQueueState a(pool_a, "node-a");
    constexpr int kHeld = 300;
    for (int i = 0; i < kHeld; ++i)
        a.insert("h" + std::to_string(i), env("s" + std::to_string(i % 5) + "@x.example"), info(),
                 daemon::Status::held, 0, "image");
    std::mutex mu;
    std::vector<std::string> got;
    std::vector<std::thread> sweeps;
    for (int w = 0; w < 6; ++w)
        sweeps.emplace_back([&, w] {
            PgQueueState node(w % 2 ? pool_b : pool_a, "node-" + std::to_string(w));
            for (int round = 0; round < 3; ++round) {
                auto ids = node.expire_held(1700000001);
                std::lock_guard lk(mu);
                got.insert(got.end(), ids.begin(), ids.end());
            }
        });
    for (auto& t : sweeps) t.join();
    EXPECT_EQ(got.size(), static_cast<std::size_t>(kHeld));
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), static_cast<std::size_t>(kHeld));
}

TEST_F(PgQueue, QueuedAndReleasedMailIsAnnounced) {
    std::mutex mu;
    std::vector<std::string> heard;
    pg::Listener listener(schema.url(), nullptr);
    listener.on("rapport_queue", [&](const std::string& id) {
        std::lock_guard lk(mu);
        if (!id.empty()) heard.push_back(id);
    });
    listener.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // its LISTEN in place
    PgQueueState a(pool_a, "node-a");
    const std::string q = unique("q"), h = unique("h");
    a.insert(q, env(), info(), daemon::Status::queued, 0, "image");
    a.insert(h, env(), info(), daemon::Status::held, 0, "image");
    EXPECT_TRUE(a.release(h));
    auto has = [&](const std::string& id) {
        std::lock_guard lk(mu);
        return std::find(heard.begin(), heard.end(), id) != heard.end();
    };
    for (int i = 0; i < 100 && !(has(q) && has(h)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    listener.stop();
    EXPECT_TRUE(has(q));
    EXPECT_TRUE(has(h)); // announced when released, not when held
    std::lock_guard lk(mu);
    EXPECT_EQ(std::count(heard.begin(), heard.end(), h), 1);
}

// Through Queue: once the row is in the store the local spool copy goes,
// and another node's Queue reads the message from the store.
TEST_F(PgQueue, TheStoresCopyReplacesTheLocalSpool) {
    auto tmp = [] {
        char t[] = "/tmp/rapport-pgqueue-XXXXXX";
        return std::string(mkdtemp(t));
    };
    std::string da = tmp(), db = tmp();
    {
        daemon::Queue a(da, std::make_unique<PgQueueState>(pool_a, "node-a"));
        daemon::Queue b(db, std::make_unique<PgQueueState>(pool_b, "node-b"));
        EXPECT_TRUE(a.shared());
        using namespace std::string_literals;
        std::string data = "Subject: x\r\n\r\nbody\0bytes\xff\r\n"s;
        auto id = a.spool_new(env(), data);
        EXPECT_EQ(a.spool_ids(), std::vector<std::string>{id});
        a.insert(id, env(), info(), daemon::Status::held, 0);
        EXPECT_TRUE(a.spool_ids().empty()); // the store has it now
        auto m = b.read_spool(id);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->data, data);
        EXPECT_EQ(m->env.mail_from, "ann@b.example");
        EXPECT_TRUE(b.drop(id));
        EXPECT_FALSE(a.read_spool(id)); // dropped: no copy anywhere
        // A rejected message's copy is never stored.
        auto r = a.spool_new(env(), data);
        a.insert(r, env(), info(), daemon::Status::rejected, 0);
        EXPECT_EQ(a.spool_ids(), std::vector<std::string>{r});
    }
    std::filesystem::remove_all(da);
    std::filesystem::remove_all(db);
}

// The store gone: reads and writes fail as "unavailable", which the queue
// keeps apart from a full disk (intake goes on accepting into the spool).
TEST(PgQueueDown, AnUnreachableStoreIsUnavailableNotFailing) {
    pg::Pool pool("postgresql://rapport@127.0.0.1:1/rapport", 2, nullptr);
    char t[] = "/tmp/rapport-pgqueue-XXXXXX";
    std::string dir = mkdtemp(t);
    {
        daemon::Queue q(dir, std::make_unique<PgQueueState>(pool, "node-a"));
        daemon::Envelope e{"a@b.example", {"c@d.example"}, "", "", "", 1, false};
        auto id = q.spool_new(e, "x");
        try {
            q.insert(id, e, {"relay", "[]", "", "", "", "", 1}, daemon::Status::queued, 0);
            ADD_FAILURE() << "inserted into nothing";
        } catch (const daemon::StorageError& err) {
            EXPECT_TRUE(err.unavailable) << err.what();
            EXPECT_FALSE(err.full);
            EXPECT_STREQ(err.kind(), "store unavailable");
        }
        EXPECT_FALSE(q.writes_failing());
        EXPECT_TRUE(q.store_down());
        EXPECT_EQ(q.spool_ids(), std::vector<std::string>{id}); // kept here meanwhile
        EXPECT_THROW(q.row(id), daemon::StorageError);
    }
    std::filesystem::remove_all(dir);
}

// The ledger behaviour tests (tests/policies/ledger_behaviour.h) on
// PostgreSQL, the same way: each test an empty schema of its own, each
// open() another Ledger on the same pool (another node).
class PgLedgerStore final : public rp::outcomes::behaviour::LedgerStore {
public:
    ~PgLedgerStore() override { pool_.reset(); } // every connection closed before the schema goes
    std::unique_ptr<rp::outcomes::Ledger> open() override {
        return std::make_unique<rp::outcomes::Ledger>(std::make_unique<PgLedgerRows>(*pool_, "test-inbox", nullptr));
    }

private:
    Schema schema_;
    std::unique_ptr<pg::Pool> pool_ = std::make_unique<pg::Pool>(schema_.url(), 4, nullptr);
};

using rp::outcomes::behaviour::LedgerBehaviour;
using rp::outcomes::behaviour::LedgerStoreMaker;
INSTANTIATE_TEST_SUITE_P(Pg, LedgerBehaviour,
                         ::testing::Values(LedgerStoreMaker{"postgresql", [] { return std::make_unique<PgLedgerStore>(); }}),
                         LedgerBehaviour::name);

class Pg : public ::testing::Test {
protected:
    void SetUp() override {
        pool = std::make_unique<pg::Pool>(url(), 4, nullptr);
        pg::Lease c = pool->acquire();
        migrate(*c);
        allow = std::make_unique<AllowList>(*pool);
    }
    std::unique_ptr<pg::Pool> pool;
    std::unique_ptr<AllowList> allow;
};

TEST_F(Pg, SchemaIsVersionedAndMigratingAgainChangesNothing) {
    pg::Lease c = pool->acquire();
    EXPECT_EQ(migrate(*c), schema_version());
    EXPECT_EQ(c->exec("SELECT count(*), max(version) FROM rapport_schema").i64(0, 0), 1);
    EXPECT_EQ(c->exec("SELECT max(version) FROM rapport_schema").i64(0, 0), schema_version());
    // Nodes starting together: each migrates under the advisory lock.
    std::vector<std::thread> nodes;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        nodes.emplace_back([&] {
            pg::Conn own(url());
            if (migrate(own) == schema_version()) ++ok;
        });
    for (auto& t : nodes) t.join();
    EXPECT_EQ(ok.load(), 4);
}

TEST_F(Pg, ANewerSchemaIsRefused) {
    // In a transaction of its own that is rolled back: the shared database keeps its version.
    pg::Conn c(url());
    pg::Txn t(c);
    c.exec("INSERT INTO rapport_schema (version) VALUES ($1)", {schema_version() + 1});
    try {
        // migrate() opens its own transaction; inside ours it runs as a nested BEGIN (a warning) and sees our row.
        migrate(c);
        ADD_FAILURE() << "a newer schema was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    }
}

TEST_F(Pg, ParamsArraysAndBytesRoundTrip) {
    pg::Lease c = pool->acquire();
    std::string bytes("\0\x01\xff\\x'\"", 7);
    auto r = c->exec("SELECT $1::bytea, $2::text[], $3::bigint[]",
                     {pg::Param::bytes(bytes), pg::array(std::vector<std::string>{"a b", "c\"d", "e\\f", ""}),
                      pg::array(std::vector<std::int64_t>{1, -2, 4294967296})});
    EXPECT_EQ(r.bytes(0, 0), bytes);
    EXPECT_EQ(pg::parse_array(r.view(0, 1)), (std::vector<std::string>{"a b", "c\"d", "e\\f", ""}));
    EXPECT_EQ(r.text(0, 2), "{1,-2,4294967296}");
    EXPECT_EQ(pg::redact("postgresql://u@h/db?password=s%20x&sslmode=require"), "postgresql://u@h/db?sslmode=require");
    EXPECT_EQ(pg::redact("postgresql://u:pw@h/db?a=1&password=s"), "postgresql://u@h/db?a=1");
}

// The same workload through SQLite and PostgreSQL gives the same answers:
// one algorithm, two stores.
TEST_F(Pg, HistoryAnswersAsSqliteDoes) {
    rp::SqliteHistory lite(":memory:");
    PgHistory pgh(*pool, *allow);
    std::mt19937 rng(7);
    const std::string a = unique("same-a"), b = unique("same-b");
    std::int64_t t = 1'700'000'000;
    int found = 0;
    for (int i = 0; i < 120; ++i) {
        const std::string& sender = (i % 3 == 0) ? b : a;
        // Letters drawn from a few templates with a sentence swapped now and then.
        int tmpl = static_cast<int>(rng() % 4);
        std::string text;
        for (int s = 0; s < 7; ++s) {
            int k = (tmpl * 3 + s) % 16;
            if (rng() % 8 == 0) k = static_cast<int>(rng() % 16);
            text += std::string(kSentences[k]) + " ";
        }
        auto fp = rp::fingerprint(words(text));
        std::vector<std::string> to{"person" + std::to_string(rng() % 40) + "@firm" + std::to_string(rng() % 9) + ".example"};
        if (rng() % 5 == 0) to.push_back("Second" + std::to_string(i) + "@Other.example");
        const std::int64_t since = t - 30 * 86400;
        auto l = lite.count_similar(sender, fp, since, t, to, "me@x.example");
        auto p = pgh.count_similar(sender, fp, since, t, to, "me@x.example");
        ASSERT_EQ(l.found, p.found) << "message " << i;
        if (l.found) {
            ++found;
            EXPECT_EQ(l.people, p.people) << "message " << i;
        }
        auto lf = lite.find_similar(sender, fp, since, t);
        auto pf = pgh.find_similar(sender, fp, since, t);
        EXPECT_EQ(lf.messages, pf.messages) << "message " << i;
        EXPECT_EQ(lf.recipients, pf.recipients) << "message " << i;
        lite.record(rec(sender, t, to, fp, {"firm" + std::to_string(i % 9)}));
        pgh.record(rec(sender, t, to, fp, {"firm" + std::to_string(i % 9)}));
        EXPECT_EQ(lite.organisations(sender, t - 86400), pgh.organisations(sender, t - 86400));
        t += 3600;
    }
    EXPECT_GT(found, 60); // the workload does exercise the families
}

TEST_F(Pg, TwoNodesShareOneTemplateMemory) {
    pg::Pool other(url(), 2, nullptr);
    AllowList other_allow(other);
    PgHistory node_a(*pool, *allow), node_b(other, other_allow);
    const std::string who = unique("shared");
    auto fp = rp::fingerprint(words(kLetter));
    std::int64_t t = 1'700'000'000;
    for (int i = 0; i < 4; ++i) {
        PgHistory& node = i % 2 ? node_b : node_a;
        node.record(rec(who, t + i, {"hr" + std::to_string(i) + "@firm" + std::to_string(i) + ".example"}, fp));
    }
    // The fifth letter, checked on either node, sees the four before it.
    for (PgHistory* node : {&node_a, &node_b}) {
        auto c = node->count_similar(who, fp, t - 86400, t + 10, {"hr4@firm4.example"}, "");
        EXPECT_TRUE(c.found);
        EXPECT_EQ(c.people, 5u);
    }
}

TEST_F(Pg, AllowListReachesOtherNodesThroughNotify) {
    Store::Options o{url(), 2};
    Store b(o, nullptr);
    b.start();
    auto hb = b.open_history();
    PgHistory a(*pool, *allow);
    const std::string addr = unique("friend") + "@example.org";
    EXPECT_FALSE(hb->allowed("address", addr)); // node b has read and kept the list
    a.allow("address", addr);
    // b learns of it by NOTIFY, not by asking on every check.
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        seen = hb->allowed("address", addr);
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(seen);
    EXPECT_TRUE(a.allowed("address", addr));
}

TEST_F(Pg, PruneForgetsOldMessages) {
    PgHistory h(*pool, *allow);
    const std::string who = unique("prune");
    auto fp = rp::fingerprint(words(kLetter));
    // Far in the past: prune(before) forgets every message before `before`,
    // whoever sent it, and no other test writes times this old.
    h.record(rec(who, 1000, {"old@firm.example"}, fp, {"oldfirm"}));
    h.record(rec(who, 5000, {"new@firm.example"}, fp, {"newfirm"}));
    h.prune(2000);
    auto c = h.find_similar(who, fp, 0, 10000);
    EXPECT_EQ(c.messages, 1);
    EXPECT_EQ(c.recipients, std::vector<std::string>{"new@firm.example"});
    EXPECT_EQ(h.organisations(who, 0), std::vector<std::string>{"newfirm"});
}

// Two nodes, each with its own pool: what one writes the other reads at
// once, the SQLite rules (names, passwords, tokens) hold unchanged.
TEST_F(Pg, MembersAreSharedByEveryNode) {
    pg::Pool other(url(), 2, nullptr);
    daemon::Members a(std::make_unique<PgMemberRows>(*pool)), b(std::make_unique<PgMemberRows>(other));
    const std::string name = unique("amira");
    a.add(name, "correct horse battery", "new", daemon::Role::member);
    EXPECT_FALSE(b.empty());
    EXPECT_THROW(b.add(name, "another password", "", daemon::Role::member), daemon::MemberError);
    EXPECT_THROW(b.add(unique("short"), "short", "", daemon::Role::member), daemon::MemberError);
    auto who = b.verify(name, "correct horse battery");
    ASSERT_TRUE(who);
    EXPECT_EQ(who->group, "new");
    EXPECT_EQ(who->language, "auto");
    EXPECT_FALSE(b.verify(name, "wrong password!"));
    const std::string api = "api-token-shared-by-all-nodes-000000";
    std::string token = a.issue_token(name, api);
    EXPECT_TRUE(b.by_token(token, api));
    EXPECT_EQ(b.current_token(name, api), token);
    b.issue_token(name, api); // revokes the first
    EXPECT_FALSE(a.by_token(token, api));
    b.set_role(name, daemon::Role::adviser);
    b.set_group(name, "late");
    b.set_language(name, "pl");
    b.set_password(name, "a new pass phrase");
    auto seen = a.find(name);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->role, daemon::Role::adviser);
    EXPECT_EQ(seen->group, "late");
    EXPECT_EQ(seen->language, "pl");
    EXPECT_TRUE(a.verify(name, "a new pass phrase"));
    auto listed = a.list();
    EXPECT_TRUE(std::any_of(listed.begin(), listed.end(), [&](const daemon::Member& m) { return m.name == name; }));
    EXPECT_THROW(a.set_group(unique("nobody"), "x"), daemon::MemberError);
    EXPECT_THROW(a.issue_token(unique("nobody"), api), daemon::MemberError);
    EXPECT_TRUE(a.remove(name));
    EXPECT_FALSE(b.remove(name));
    EXPECT_FALSE(b.find(name));
}

TEST_F(Pg, SharedSecretIsTheFirstNodes) {
    Store a({url(), 1}, nullptr), b({url(), 1}, nullptr);
    const std::string name = unique("secret");
    EXPECT_EQ(a.shared_secret(name, "first"), "first");
    EXPECT_EQ(b.shared_secret(name, "second"), "first");
}

TEST(PgDown, UnreachableStoreIsUnavailableAndBacksOff) {
    // Port 1: nothing listens there, the connection is refused at once.
    std::vector<std::string> lines;
    pg::Pool pool("postgresql://rapport@127.0.0.1:1/rapport", 2,
                  [&](const std::string& l) { lines.push_back(l); });
    try {
        pool.acquire();
        ADD_FAILURE() << "connected to nothing";
    } catch (const pg::Error& e) {
        EXPECT_TRUE(e.unavailable()) << e.what();
    }
    EXPECT_FALSE(pool.up());
    // Within the backoff no new connection is tried: the next call fails at once.
    auto t0 = std::chrono::steady_clock::now();
    try {
        pool.acquire();
        ADD_FAILURE();
    } catch (const pg::Error& e) {
        EXPECT_TRUE(e.unavailable());
        EXPECT_NE(std::string(e.what()).find("next try"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.front().find("warning: store:"), std::string::npos) << lines.front();

    AllowList allow(pool);
    PgHistory h(pool, allow);
    auto fp = rp::fingerprint(words(kLetter));
    EXPECT_THROW(h.count_similar("x", fp, 0, 1, {}, ""), rp::HistoryUnavailable);
    EXPECT_THROW(h.record(rec("x", 1, {"a@b.example"}, fp)), rp::HistoryUnavailable);
    EXPECT_THROW(rp::History::Snapshot s(h), rp::HistoryUnavailable);
}


// ------------------------------------------------------------ the reply ledger

namespace po = rp::outcomes;

po::Outgoing ledger_app(const std::string& id, const std::string& account, const std::string& to, std::int64_t t) {
    po::Outgoing m;
    m.id = id;
    m.account = account;
    m.message_id = id + "@example.org";
    m.subject = "Application " + id;
    m.from = {account};
    m.recipients = {to};
    m.time = t;
    m.application = true;
    return m;
}

// A word of letters only that no other test or run uses: a firm's name.
std::string unique_word() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::string w = "q";
    for (int i = 0; i < 11; ++i) w += static_cast<char>('a' + rng() % 26);
    return w;
}

// One node reads a shared inbox at a time; another takes it over when the
// first lets go or its connection to the store ends.
TEST_F(Pg, LedgerInboxIsReadByOneNodeAtATime) {
    pg::Pool other(url(), 2, nullptr);
    const std::string inbox = unique("imap.example:993/alice");
    PgLedgerRows a(*pool, inbox, nullptr), b(other, inbox, nullptr), c(other, unique("imap.example:993/bob"), nullptr);
    auto first = a.claim_inbox();
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->held());
    EXPECT_FALSE(b.claim_inbox()) << "two readers of one inbox";
    EXPECT_TRUE(c.claim_inbox()) << "another inbox is another lock";
    first.reset(); // the reading node stopped
    auto second = b.claim_inbox();
    ASSERT_TRUE(second);
    EXPECT_FALSE(a.claim_inbox());
    // Its connection cut (the node's machine died, a failover): no longer
    // held, and the inbox is free for another.
    pg::Conn(url()).exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
                         "AND classid = 748523 AND objid::bigint = (hashtext($1)::bigint & 4294967295)",
                         {inbox});
    EXPECT_FALSE(second->held());
    std::unique_ptr<po::InboxClaim> third;
    for (int i = 0; i < 100 && !third; ++i) {
        third = a.claim_inbox();
        if (!third) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(third) << "the cut connection's lock was never released";
}

// An applicant tracking system's answer is matched by the organisation
// keys of applications; keys written through one node reach another's
// memory by NOTIFY, so its reader finds an application it never saw.
TEST_F(Pg, LedgerOrganisationKeysReachOtherNodesThroughNotify) {
    Store sa({url(), 2}, nullptr), sb({url(), 2}, nullptr);
    sa.start();
    sb.start();
    po::Ledger b(sb.ledger_rows("")); // opened first: it read the keys before A's application
    po::Ledger a(sa.ledger_rows(""));
    const std::string firm = unique_word();
    const std::int64_t t = static_cast<std::int64_t>(std::time(nullptr));
    po::Outgoing m = ledger_app(unique("ats"), unique("priya"), "jobs@" + firm + ".example", t);
    ASSERT_TRUE(a.record(m, po::Fate::left));
    std::string firm_name = firm;
    firm_name[0] = static_cast<char>(std::toupper(firm_name[0]));
    po::Answer got;
    for (int i = 0; i < 100 && got.application != m.id; ++i) {
        got = b.add_incoming(po::read_incoming("From: " + firm_name + " Recruiting <no-reply@greenhouse.io>\r\n"
                                               "Subject: Thank you for applying\r\nMessage-ID: <" + unique("g") +
                                               "@greenhouse.io>\r\n\r\n"),
                             t + 3600);
        if (got.application != m.id) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(got.application, m.id) << got.why;
    EXPECT_EQ(got.kind, po::Answer::replied);
}

// The ledger's thread loses no event while the store is away: every
// connection of this node cut, a release waits in memory and is written
// when the store answers again; one log line each way.
TEST_F(Pg, LedgerEventsWaitWhileTheStoreIsAway) {
    const std::string app_name = "ledgerdown" + std::to_string(::getpid()) + unique_word();
    pg::Pool p(url() + "&application_name=" + app_name, 2, nullptr);
    std::mutex mu;
    std::vector<std::string> lines;
    daemon::Config cfg;
    daemon::Outcomes out(
        cfg, nullptr,
        [&](const std::string& l) {
            std::lock_guard lk(mu);
            lines.push_back(l);
        },
        std::make_unique<PgLedgerRows>(p, "", nullptr));
    const std::string account = unique("held");
    const std::int64_t t = static_cast<std::int64_t>(std::time(nullptr));
    po::Outgoing m = ledger_app(unique("h"), account, "jobs@" + unique_word() + ".example", t);
    m.rules = {"cv-attachment-only"};
    ASSERT_TRUE(out.ledger().record(m, po::Fate::held));
    auto count = [&](const std::string& needle) {
        std::lock_guard lk(mu);
        return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
    };
    pg::Conn(url()).exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", {app_name});
    out.released(m.id);
    out.flush(); // returns while the store is away: nothing waits for it
    int applications = 0;
    for (int i = 0; i < 200 && applications == 0; ++i) {
        try {
            applications = out.ledger().summary(&account, t + 60, {}).all.applications;
        } catch (const po::LedgerUnavailable&) {
        }
        if (!applications) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(applications, 1) << "the release was lost";
    EXPECT_EQ(count("the store is unavailable"), 1);
    for (int i = 0; i < 100 && count("the store is back") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(count("the store is back"), 1);
    EXPECT_EQ(count("records lost"), 0);
    out.stop();
    if (HasFailure())
        for (const auto& l : lines) std::cout << "log: " << l << "\n";
}

// While the store is away the ledger's events wait in memory, up to
// Outcomes::kMaxWaiting; newer ones are dropped, and said so once.
TEST(PgDown, LedgerEventsWaitInMemoryUpToTheirBound) {
    pg::Pool pool("postgresql://rapport@127.0.0.1:1/rapport", 2, nullptr);
    std::mutex mu;
    std::vector<std::string> lines;
    daemon::Config cfg;
    daemon::Outcomes out(
        cfg, nullptr,
        [&](const std::string& l) {
            std::lock_guard lk(mu);
            lines.push_back(l);
        },
        std::make_unique<PgLedgerRows>(pool, "", nullptr));
    auto count = [&](const std::string& needle) {
        std::lock_guard lk(mu);
        return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
    };
    out.released("first");
    for (int i = 0; i < 200 && count("wait in memory") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(count("wait in memory"), 1);
    for (std::size_t i = 0; i < daemon::Outcomes::kMaxWaiting + 10; ++i) out.released("r" + std::to_string(i));
    EXPECT_EQ(count(std::to_string(daemon::Outcomes::kMaxWaiting) + " events wait for the store already"), 1);
    EXPECT_EQ(count("wait in memory"), 1) << "said once";
    out.stop();
    EXPECT_EQ(count("stopping while the store is unavailable"), 1);
    EXPECT_EQ(count("the store is back"), 0);
}

TEST(PgDown, LedgerCallsAreUnavailable) {
    pg::Pool pool("postgresql://rapport@127.0.0.1:1/rapport", 2, nullptr);
    po::Ledger l(std::make_unique<PgLedgerRows>(pool, "", nullptr)); // opens while the store is away
    EXPECT_THROW(l.record(ledger_app("x1", "priya", "jobs@acme.example", 1), po::Fate::left), po::LedgerUnavailable);
    EXPECT_THROW(l.summary(nullptr, 1, {}), po::LedgerUnavailable);
    EXPECT_THROW(l.claim_inbox(), po::LedgerUnavailable);
}

// A statement that PostgreSQL takes but does not finish (here: waiting for
// a lock; in a deployment: a COMMIT the primary holds for a synchronous
// replica that is gone) marks the store down while it waits, and the log
// says so once, then when it ends.
TEST(PgStall, AStatementWaitingTooLongMarksTheStoreDown) {
    std::mutex mu;
    std::vector<std::string> lines;
    pg::Pool pool(url(), 2,
                  [&](const std::string& l) {
                      std::lock_guard lk(mu);
                      lines.push_back(l);
                  },
                  std::chrono::seconds(10), std::chrono::milliseconds(300));
    auto logged = [&](const std::string& what) {
        std::lock_guard lk(mu);
        return std::count_if(lines.begin(), lines.end(),
                             [&](const std::string& l) { return l.find(what) != std::string::npos; });
    };
    const std::int64_t key = std::hash<std::string>{}(unique("stall")) & 0x7fffffffffff;
    pg::Conn holder(url());
    holder.exec("SELECT pg_advisory_lock($1)", {key});
    std::thread waiter([&] {
        pool.with([&](pg::Conn& c) {
            c.exec("SELECT pg_advisory_lock($1)", {key});
            c.exec("SELECT pg_advisory_unlock($1)", {key});
        });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(pool.up()) << "down before the statement waited 300 ms";
    auto t0 = std::chrono::steady_clock::now();
    while (pool.up() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(pool.up());
    EXPECT_FALSE(pool.up());
    EXPECT_EQ(logged("warning: store: a statement has waited"), 1);
    holder.exec("SELECT pg_advisory_unlock($1)", {key});
    waiter.join();
    EXPECT_TRUE(pool.up());
    EXPECT_EQ(logged("store: a statement finished after waiting"), 1);
    // Quick statements afterwards leave it up and the log quiet.
    pool.with([](pg::Conn& c) { c.exec("SELECT 1"); });
    EXPECT_TRUE(pool.up());
    EXPECT_EQ(logged("a statement"), 2);
}


// A store that hangs instead of failing (here: another session holds the
// history's tables locked, as a primary waiting for a synchronous replica
// that is gone holds every commit): a reply that waits for the verdict
// waits [smtp] verdict_timeout, then the spooled message is acknowledged;
// its verdict follows once the store answers, a reject held instead.
TEST(PgStalled, TheReplyWaitsForTheVerdictNoLongerThanItsTimeout) {
    Schema schema;
    pg::Pool pool(schema.url(), 4, nullptr);
    AllowList allow(pool);
    char tmpl[] = "/tmp/rapport-stalled-XXXXXX";
    daemon::Config cfg;
    cfg.state_dir = ::mkdtemp(tmpl);
    cfg.limits.verdict_timeout = 1;
    std::mutex log_mu;
    std::vector<std::string> logged;
    daemon::LogFn log = [&](const std::string& l) {
        std::lock_guard lk(log_mu);
        logged.push_back(l);
    };
    auto policy = rp::parse_policy("[rules.vague-subject]\naction = \"reject\"\n", "strict.toml");
    pg::Conn locker(schema.url());
    locker.run("BEGIN");
    locker.run("LOCK TABLE history_msg, history_band, history_org, history_family_rcpt IN ACCESS EXCLUSIVE MODE");
    std::string id;
    {
        daemon::Queue queue(cfg.state_dir);
        daemon::VerdictStage verdict(policy, [&] { return std::make_unique<PgHistory>(pool, allow); }, 1);
        daemon::Holds holds(cfg, queue, nullptr, nullptr, nullptr, std::string(64, 't'), log);
        daemon::Intake intake(cfg, queue, verdict, nullptr, holds, nullptr, log);
        std::promise<std::string> reply;
        auto t0 = std::chrono::steady_clock::now();
        intake.submit({"ann@x.example", {"jo@acme.example"}, "", "h", "127.0.0.1", 0, false},
                      "From: ann@x.example\r\nTo: jo@acme.example\r\nSubject: CV\r\nMessage-ID: <s1@x.example>\r\n\r\n"
                      "Dear Jo,\r\n\r\nI would like to apply for the warehouse role.\r\n\r\nAnn\r\n",
                      [&](std::string r) { reply.set_value(std::move(r)); });
        auto f = reply.get_future();
        ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
        std::string r = f.get();
        auto waited = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(r.rfind("250 2.0.0 Ok: queued as ", 0), 0u) << r;
        EXPECT_GE(waited, std::chrono::milliseconds(900));
        id = r.substr(24, r.find('\r') - 24);
        EXPECT_TRUE(queue.read_spool(id)); // acknowledged: on disk
        EXPECT_FALSE(queue.row(id));       // and not judged yet
        locker.run("ROLLBACK");            // the store answers again
        intake.stop();
        verdict.stop();
        auto row = queue.row(id);
        ASSERT_TRUE(row);
        EXPECT_EQ(row->status, daemon::Status::held); // the 250 went out: held, not refused
    }
    std::lock_guard lk(log_mu);
    EXPECT_TRUE(std::any_of(logged.begin(), logged.end(), [&](const std::string& l) {
        return l.find(id + ": no verdict within 1 s") != std::string::npos;
    }));
    std::filesystem::remove_all(cfg.state_dir);
}

// Two nodes judging one sender's letters take turns (History::take_turn):
// the second waits until the first's check and record are done, and
// another sender's turn does not wait at all.
TEST(PgTurns, OneSendersLettersAreJudgedOneAtATimeAcrossNodes) {
    Schema schema;
    pg::Pool pool_a(schema.url(), 2, nullptr), pool_b(schema.url(), 2, nullptr);
    AllowList allow_a(pool_a), allow_b(pool_b);
    PgHistory a(pool_a, allow_a), b(pool_b, allow_b);
    auto turn = a.take_turn("priya@example.org");
    ASSERT_TRUE(turn);
    EXPECT_TRUE(b.take_turn("ben@example.org")); // another sender: at once
    std::atomic<bool> got{false};
    std::thread other([&] {
        auto t = b.take_turn("priya@example.org");
        got = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(got.load()) << "node B judged while node A had the turn";
    turn.reset();
    other.join();
    EXPECT_TRUE(got.load());
    EXPECT_TRUE(a.take_turn("priya@example.org")); // given back: free again
}

} // namespace
} // namespace rapport::store
