// Unit tests for daemon/lib/queue: spool round trip, state rows, release.

#include "daemon/lib/queue.h"

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
} // namespace

TEST(Queue, SpoolRoundTripKeepsBytes) {
    auto dir = tmpdir();
    Queue q(dir);
    Envelope env{"a@b", {"c@d", "e@f"}, "ann", "helo.example", "127.0.0.1", 1700000000, false};
    std::string data = "Subject: x\r\n\r\n\r\n\n.odd\0bytes";
    data.push_back('\0');
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

TEST(Queue, SlotsHoldMessagesAndRecycle) {
    auto dir = tmpdir();
    {
        Queue q(dir);
        q.enable_slots(4096, 4);
        Envelope env{"a@b", {"c@d"}, "", "", "", 1, false};
        // Wait until the background maker has slots ready.
        std::string id;
        for (int i = 0; i < 200; ++i) {
            id = q.spool_new(env, "Subject: s\r\n\r\nslot body\r\n");
            if (std::filesystem::file_size(dir + "/spool/" + id) == 4096) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ASSERT_EQ(std::filesystem::file_size(dir + "/spool/" + id), 4096u) << "no slot was used";
        auto m = q.read_spool(id);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->data, "Subject: s\r\n\r\nslot body\r\n");
        EXPECT_FALSE(q.is_free_slot(id));

        // A write cut short (here: one byte changed) is refused by the digest.
        {
            std::FILE* f = std::fopen((dir + "/spool/" + id).c_str(), "r+b");
            auto pos = std::filesystem::file_size(dir + "/spool/" + id);
            (void)pos;
            std::string text;
            auto m2 = q.read_spool(id);
            std::fseek(f, -1, SEEK_END); // padding: not part of the message
            std::fputc('Z', f);
            std::fclose(f);
            EXPECT_TRUE(q.read_spool(id));
        }
        auto big = q.spool_new(env, std::string(5000, 'x')); // does not fit: a plain file
        EXPECT_EQ(q.read_spool(big)->data, std::string(5000, 'x'));
        q.remove_spool(id); // recycled: renamed to a fresh free slot
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        EXPECT_FALSE(std::filesystem::exists(dir + "/spool/" + id));
    }
    // Free slots are not left behind by a clean shutdown: every file left is a message.
    Queue q2(dir);
    for (auto& e : std::filesystem::directory_iterator(dir + "/spool")) {
        auto name = e.path().filename().string();
        EXPECT_FALSE(q2.is_free_slot(name)) << name;
        EXPECT_TRUE(q2.read_spool(name)) << name;
    }
    std::filesystem::remove_all(dir);
}

TEST(Queue, SlotWithBadDigestIsRefused) {
    auto dir = tmpdir();
    Queue q(dir);
    q.enable_slots(4096, 2);
    Envelope env{"a@b", {"c@d"}, "", "", "", 1, false};
    std::string id;
    for (int i = 0; i < 200; ++i) {
        id = q.spool_new(env, "Subject: s\r\n\r\nbody\r\n");
        if (std::filesystem::file_size(dir + "/spool/" + id) == 4096) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string path = dir + "/spool/" + id;
    std::string content;
    {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        char buf[4096];
        content.assign(buf, std::fread(buf, 1, sizeof buf, f));
        std::fclose(f);
    }
    auto pos = content.find("body");
    ASSERT_NE(pos, std::string::npos);
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    std::fseek(f, static_cast<long>(pos), SEEK_SET);
    std::fputc('\0', f); // as if that block never reached the disk
    std::fclose(f);
    EXPECT_FALSE(q.read_spool(id));
    std::filesystem::remove_all(dir);
}
