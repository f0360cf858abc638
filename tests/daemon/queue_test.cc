// Unit tests for daemon/lib/queue: spool round trip, state rows, release.

#include "daemon/lib/queue.h"
#include "daemon/lib/queue_internal.h"
#include "tests/daemon/queue_behaviour.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace rapport::daemon;

namespace {
std::string tmpdir() {
    char t[] = "/tmp/rapport-queue-test-XXXXXX";
    return mkdtemp(t);
}
// The queue behaviour tests (queue_behaviour.h) on SQLite: each test a
// state directory of its own, each open() another connection to its
// queue.db (no node is shared with: SQLite is one machine's).
class SqliteQueueStore final : public behaviour::QueueStore {
public:
    ~SqliteQueueStore() override { std::filesystem::remove_all(dir_); }
    std::unique_ptr<QueueState> open(const std::string&) override {
        return std::make_unique<SqliteQueueState>(dir_ + "/queue.db");
    }

private:
    std::string dir_ = tmpdir();
};
} // namespace

using behaviour::QueueBehaviour;
using behaviour::QueueMaker;
INSTANTIATE_TEST_SUITE_P(Sqlite, QueueBehaviour,
                         ::testing::Values(QueueMaker{"sqlite", [] { return std::make_unique<SqliteQueueStore>(); }}),
                         QueueBehaviour::name);

TEST(Queue, SpoolRoundTripKeepsBytes) {
    auto dir = tmpdir();
    Queue q(dir);
    Envelope env{"a@b", {"c@d", "e@f"}, "ann", "helo.example", "127.0.0.1", 1700000000, false};
    using namespace std::string_literals; // the whole literal, NULs and all
    std::string data = "Subject: x\r\n\r\n\r\n\n.odd\0bytes\0"s;
    ASSERT_EQ(data.size(), 28u);
    auto id = q.new_id();
    q.write_spool(id, env, data);
    auto m = q.read_spool(id);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, data);
    EXPECT_EQ(m->env.rcpts, env.rcpts);
    EXPECT_EQ(m->env.account, "ann");
    EXPECT_EQ(m->env.received, 1700000000);
    EXPECT_EQ(q.spool_ids(), std::vector<std::string>{id});
    std::filesystem::remove_all(dir);
}

TEST(Queue, NullSenderAndLeftoverTemporaries) {
    auto dir = tmpdir();
    Queue q(dir);
    auto id = q.new_id();
    q.write_spool(id, Envelope{"", {"x@y"}, "", "", "", 1, true}, "x");
    std::FILE* f = std::fopen((dir + "/spool/.half.tmp").c_str(), "w");
    std::fclose(f);
    EXPECT_EQ(q.spool_ids(), std::vector<std::string>{id}); // and the temporary is gone
    EXPECT_FALSE(std::filesystem::exists(dir + "/spool/.half.tmp"));
    auto m = q.read_spool(id);
    EXPECT_EQ(m->env.mail_from, "");
    EXPECT_TRUE(m->env.notice);
    std::filesystem::remove_all(dir);
}

TEST(Queue, HeldReleaseIsIdempotent) {
    auto dir = tmpdir();
    Queue q(dir);
    auto id = q.new_id();
    Envelope env{"a@b", {"c@d"}, "", "", "", 1, false};
    q.insert(id, env, MessageInfo{"hold", "[]", "s", "a@b", "c@d", "m@b", 1}, Status::held, 0);
    EXPECT_EQ(q.rows_with_status(Status::held).size(), 1u);
    EXPECT_TRUE(q.release(id));
    EXPECT_FALSE(q.release(id));
    EXPECT_EQ(q.row(id)->status, Status::queued);
    q.record_attempt(id, {{"c@d", "sent", 250, "250 ok"}}, Status::relayed, 1, 0, "");
    EXPECT_EQ(q.recipients(id)[0].status, "sent");
    EXPECT_EQ(q.row(id)->status, Status::relayed);
    std::filesystem::remove_all(dir);
}

TEST(Queue, IdsAreUniqueAndSortable) {
    auto dir = tmpdir();
    Queue q(dir);
    std::string prev;
    for (int i = 0; i < 1000; ++i) {
        auto id = q.new_id();
        EXPECT_NE(id, prev);
        prev = id;
    }
    std::filesystem::remove_all(dir);
}

TEST(Queue, FileCutShortByACrashIsRefused) {
    auto dir = tmpdir();
    Queue q(dir);
    auto id = q.new_id();
    q.write_spool(id, Envelope{"a@b", {"c@d"}, "", "", "", 1, false}, "Subject: x\r\n\r\nbody\r\n");
    auto path = dir + "/spool/" + id;
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
    EXPECT_FALSE(q.read_spool(id));
    std::filesystem::remove_all(dir);
}

TEST(Queue, SpoolLogHoldsMessagesUntilRemoved) {
    auto dir = tmpdir();
    Envelope env{"a@b", {"c@d"}, "ann", "", "", 1, false};
    std::string id, plain, big;
    {
        Queue q(dir);
        q.enable_log({1u << 20, 1, 4, std::chrono::hours(1)});
        ASSERT_TRUE(q.wait_log_ready(std::chrono::seconds(30)));
        id = q.spool_new(env, "Subject: s\r\n\r\nlog body\r\n");
        ASSERT_TRUE(q.spool_log()->contains(id));
        EXPECT_FALSE(std::filesystem::exists(dir + "/spool/" + id)) << "no file per message";
        auto m = q.read_spool(id);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->data, "Subject: s\r\n\r\nlog body\r\n");
        EXPECT_EQ(m->env.account, "ann");
        big = q.spool_new(env, std::string(2u << 20, 'x')); // larger than a segment: a plain file
        EXPECT_TRUE(std::filesystem::exists(dir + "/spool/" + big));
        EXPECT_EQ(q.read_spool(big)->data.size(), 2u << 20);
        plain = q.spool_new(env, "Subject: t\r\n\r\nremoved\r\n");
        q.remove_spool(plain);
        EXPECT_FALSE(q.read_spool(plain));
        EXPECT_EQ(q.spool_ids(), (std::vector<std::string>{id, big}));
    }
    // A restart finds both; the removed record is back too (removal is not
    // written to the log) and recovery sorts it out by its row.
    Queue q(dir);
    q.enable_log({1u << 20, 1, 4, std::chrono::hours(1)});
    auto ids = q.spool_ids();
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_EQ(q.read_spool(id)->data, "Subject: s\r\n\r\nlog body\r\n");
    std::filesystem::remove_all(dir);
}

TEST(Queue, SpoolLogMovesLongLivedMessagesToFiles) {
    auto dir = tmpdir();
    Queue q(dir);
    q.enable_log({1u << 20, 1, 4, std::chrono::milliseconds(50)});
    ASSERT_TRUE(q.wait_log_ready(std::chrono::seconds(30)));
    Envelope env{"a@b", {"c@d"}, "", "", "", 1, false};
    auto id = q.spool_new(env, "Subject: held\r\n\r\nwaits for the sender\r\n");
    ASSERT_TRUE(q.spool_log()->contains(id));
    for (int i = 0; i < 300 && q.spool_log()->contains(id); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(q.spool_log()->contains(id));
    ASSERT_TRUE(std::filesystem::exists(dir + "/spool/" + id));
    EXPECT_EQ(q.read_spool(id)->data, "Subject: held\r\n\r\nwaits for the sender\r\n");
    EXPECT_EQ(q.spool_ids(), std::vector<std::string>{id});
    q.remove_spool(id);
    EXPECT_TRUE(q.spool_ids().empty());
    std::filesystem::remove_all(dir);
}

// --- a full disk (tests/daemon/sqlite_faults.c, SQLite's VFS interface) -------

extern "C" int rapport_sqlite_faults_install(const char* control);

namespace {
// The fault VFS is the process's default from the first call on; each test
// names its own control file.
void faults(const std::string& control, const std::string& rules) {
    ASSERT_EQ(rapport_sqlite_faults_install(control.c_str()), 0);
    std::string tmp = control + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    std::fputs(rules.c_str(), f);
    std::fclose(f);
    std::filesystem::rename(tmp, control); // a new inode: read again
}
} // namespace

// The write is rolled back whole and SQLite's own error comes out, not
// "cannot rollback - no transaction is active" (SQLite rolls back by itself
// after SQLITE_FULL; a second ROLLBACK would fail and hide the real error).
TEST(QueueFullDisk, AFailedWriteSaysDiskFullAndChangesNothing) {
    auto dir = tmpdir();
    std::string control = dir + "/faults";
    faults(control, "");
    Queue q(dir);
    Envelope env{"a@b", {"c@d", "e@f"}, "", "", "", 1, false};
    auto id = q.new_id();
    q.insert(id, env, MessageInfo{"relay", "[]", "s", "a@b", "c@d", "m@b", 1}, Status::queued, 0);
    int resumed = 0;
    auto handle = q.on_writes_resumed([&] { ++resumed; });
    EXPECT_FALSE(q.writes_failing());

    faults(control, "queue.db write 0 full\n");
    try {
        q.record_attempt(id, {{"c@d", "sent", 250, "ok"}, {"e@f", "sent", 250, "ok"}}, Status::relayed, 1, 0, "");
        ADD_FAILURE() << "the write went through";
    } catch (const StorageError& e) {
        EXPECT_TRUE(e.full);
        EXPECT_STREQ(e.kind(), "disk full");
        EXPECT_NE(std::string(e.what()).find("database or disk is full (SQLITE_FULL)"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("cannot rollback"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(q.writes_failing());
    EXPECT_NE(q.write_error().find("SQLITE_FULL"), std::string::npos);
    EXPECT_THROW(q.begin_attempt(id, 1, 0), StorageError);
    EXPECT_FALSE(q.probe_write());
    EXPECT_EQ(resumed, 0);

    faults(control, "");
    // Nothing of the failed transactions is there: all or nothing.
    EXPECT_EQ(q.row(id)->status, Status::queued);
    EXPECT_EQ(q.row(id)->attempts, 0);
    EXPECT_EQ(q.recipients(id)[0].status, "pending");
    EXPECT_EQ(q.recipients(id)[1].status, "pending");
    EXPECT_TRUE(q.probe_write());
    EXPECT_FALSE(q.writes_failing());
    EXPECT_EQ(resumed, 1);
    q.forget_writes_resumed(handle);
    std::filesystem::remove_all(dir);
}

// Intent, then outcome: a row whose intent has no outcome was being sent
// when rapportd stopped; the attempt count and the next try are already
// written, so the backoff grows even if the outcome never is.
TEST(QueueFullDisk, IntentBeforeOutcome) {
    auto dir = tmpdir();
    std::string control = dir + "/faults";
    faults(control, "");
    Queue q(dir);
    Envelope env{"a@b", {"c@d"}, "", "", "", 1, false};
    auto id = q.new_id();
    q.insert(id, env, MessageInfo{"relay", "[]", "s", "a@b", "c@d", "m@b", 1}, Status::queued, 0);
    EXPECT_TRUE(q.interrupted().empty());
    EXPECT_TRUE(q.begin_attempt(id, 3, 12345));
    EXPECT_EQ(q.row(id)->attempts, 3);
    EXPECT_EQ(q.row(id)->next_attempt, 12345);
    EXPECT_EQ(q.interrupted(), std::vector<std::string>{id});
    q.record_attempt(id, {{"c@d", "pending", 451, "later"}}, Status::queued, 3, 12345, "");
    EXPECT_TRUE(q.interrupted().empty());
    // Not queued (held, dropped): no intent, nothing to send.
    q.set_status(id, Status::held);
    EXPECT_FALSE(q.begin_attempt(id, 4, 0));
    std::filesystem::remove_all(dir);
}
