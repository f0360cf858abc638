// Unit tests for daemon/lib/spool_log: append/read/remove, what a restart
// finds (valid records, not torn or reused ones), moving out, group commit.

#include "daemon/lib/spool_log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

using namespace rapport::daemon;

namespace {

std::string tmpdir() {
    char t[] = "/tmp/rapport-spool-log-test-XXXXXX";
    return mkdtemp(t);
}

struct Moved {
    std::map<std::string, std::string> files;
    SpoolLog::MoveOut out() {
        return {[this](const std::string& id, std::string_view image) { files[id] = std::string(image); },
                [this](const std::string& id) { files.erase(id); }};
    }
};

// Small segments so that tests fill them: 4 pages of records each.
SpoolLog::Options small(std::size_t reserve = 1, std::size_t max = 4) {
    SpoolLog::Options o;
    o.segment_size = 5 * 4096;
    o.reserve = reserve;
    o.max_segments = max;
    o.move_after = std::chrono::hours(1);
    return o;
}

std::string binary_body() {
    std::string b = "Subject: x\r\n\r\nline\r\n.dot\r\n";
    b.push_back('\0');
    b += "\xff\xfe after NUL\r\n";
    return b;
}

std::vector<std::string> segment_files(const std::string& dir) {
    std::vector<std::string> out;
    for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST(SpoolLog, AppendReadRemove) {
    auto dir = tmpdir();
    Moved m;
    SpoolLog log(dir + "/log", small(), m.out());
    EXPECT_FALSE(log.append("a", "head\n", "body")) << "no segment ready yet";
    log.maintain_now();
    ASSERT_TRUE(log.append("a", "head\n", binary_body()));
    ASSERT_TRUE(log.append("b", "", "second"));
    EXPECT_EQ(log.read("a"), "head\n" + binary_body());
    EXPECT_EQ(log.read("b"), "second");
    EXPECT_EQ(log.ids(), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(log.remove("a"));
    EXPECT_FALSE(log.remove("a"));
    EXPECT_FALSE(log.read("a"));
    EXPECT_TRUE(log.contains("b"));
    EXPECT_EQ(log.stats().appended, 2u);
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, RefusesWhatDoesNotFit) {
    auto dir = tmpdir();
    Moved m;
    SpoolLog log(dir + "/log", small(1, 3), m.out());
    log.maintain_now();
    EXPECT_FALSE(log.append("big", "", std::string(5 * 4096, 'x'))); // larger than a segment
    EXPECT_FALSE(log.append("", "", "x"));                           // no id
    EXPECT_FALSE(log.append(std::string(300, 'i'), "", "x"));        // id too long for the format
    // Records of 3 pages: one per segment. With nothing making segments
    // (no background thread here), appends stop when the ready ones are used.
    int fitted = 0;
    while (log.append("r" + std::to_string(fitted), "", std::string(2 * 4096 + 100, 'x'))) ++fitted;
    EXPECT_EQ(fitted, 2); // reserve 1 + 1 for the stripe with no segment yet
    EXPECT_EQ(log.stats().ready, 0u);
    log.maintain_now(); // one more file fits under max_segments = 3
    EXPECT_TRUE(log.append("more", "", std::string(2 * 4096, 'x')));
    EXPECT_EQ(log.stats().segments, 3u);
    EXPECT_GE(log.stats().full, 4u);
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, RestartFindsAcknowledgedRecords) {
    auto dir = tmpdir();
    Moved m;
    {
        SpoolLog log(dir + "/log", small(), m.out());
        log.maintain_now();
        ASSERT_TRUE(log.append("m1", "h1\n", binary_body()));
        ASSERT_TRUE(log.append("m2", "h2\n", "two"));
        log.remove("m2"); // in memory only: it comes back, and Queue's recovery sees its row finished
    }
    SpoolLog log(dir + "/log", small(), m.out());
    EXPECT_EQ(log.ids(), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(log.read("m1"), "h1\n" + binary_body());
    // Nothing is appended after what the last run left: a new segment is used.
    log.maintain_now();
    ASSERT_TRUE(log.append("m3", "", "three"));
    EXPECT_EQ(log.read("m1"), "h1\n" + binary_body());
    EXPECT_EQ(log.read("m3"), "three");
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, TornRecordIsNotAMessage) {
    auto dir = tmpdir();
    Moved m;
    {
        SpoolLog log(dir + "/log", small(), m.out());
        log.maintain_now();
        ASSERT_TRUE(log.append("good", "", "first message"));
        ASSERT_TRUE(log.append("torn", "", "second message"));
    }
    bool torn = false;
    for (const auto& file : segment_files(dir + "/log")) {
        // As if the second record's last block never reached the disk.
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        std::string all((std::istreambuf_iterator<char>(f)), {});
        auto pos = all.find("second message");
        if (pos == std::string::npos) continue;
        f.seekp(static_cast<std::streamoff>(pos + 7));
        f.put('\0');
        torn = true;
    }
    ASSERT_TRUE(torn);
    SpoolLog log(dir + "/log", small(), m.out());
    EXPECT_EQ(log.ids(), std::vector<std::string>{"good"});
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, ReusedSegmentForgetsItsOldRecords) {
    auto dir = tmpdir();
    Moved m;
    {
        SpoolLog log(dir + "/log", small(1, 2), m.out());
        log.maintain_now();
        ASSERT_TRUE(log.append("old", "", std::string(3 * 4096, 'o')));   // fills segment 1
        ASSERT_TRUE(log.append("fill", "", std::string(2 * 4096, 'f')));  // seals it, goes to segment 2
        log.remove("old");
        log.maintain_now(); // segment 1 is empty and sealed: new generation, ready again
        EXPECT_EQ(log.stats().ready, 1u);
        EXPECT_EQ(log.stats().segments, 2u);
        ASSERT_TRUE(log.append("new", "", std::string(3 * 4096, 'n'))); // no room in 2: into the reused 1
    }
    // "old" is still in segment 1's bytes after "new", but of the previous generation.
    SpoolLog log(dir + "/log", small(), m.out());
    EXPECT_EQ(log.ids(), (std::vector<std::string>{"fill", "new"}));
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, RecordForgedInsideABodyIsNotFound) {
    auto dir = tmpdir();
    Moved m;
    // A body that carries a record header at every page boundary, with a
    // guessed generation: it must never be taken for a message.
    std::string forged = "RSLREC01";
    forged += std::string(8, '\0') + std::string("\x05\0\0\0\x01\0\0\0", 8) + std::string(32, '\0') + "evil!X";
    std::string body;
    while (body.size() < 3 * 4096) body += forged + std::string(4096 - forged.size(), ' ');
    {
        SpoolLog log(dir + "/log", small(), m.out());
        log.maintain_now();
        ASSERT_TRUE(log.append("a", "", body.substr(0, 3 * 4096 - 200)));
    }
    SpoolLog log(dir + "/log", small(), m.out());
    EXPECT_EQ(log.ids(), std::vector<std::string>{"a"});
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, LongLivedRecordsMoveOut) {
    auto dir = tmpdir();
    Moved m;
    auto opt = small();
    opt.move_after = std::chrono::milliseconds(0);
    SpoolLog log(dir + "/log", opt, m.out());
    log.maintain_now();
    ASSERT_TRUE(log.append("held", "h\n", "kept for days"));
    ASSERT_TRUE(log.append("gone", "", "relayed"));
    log.remove("gone");
    log.maintain_now(); // idle: sealed, its live record moved out, then the segment reused
    EXPECT_EQ(m.files.size(), 1u);
    EXPECT_EQ(m.files["held"], "h\nkept for days");
    EXPECT_FALSE(log.contains("held"));
    EXPECT_EQ(log.stats().moved, 1u);
    EXPECT_EQ(log.stats().records, 0u);
    log.maintain_now();
    EXPECT_GE(log.stats().ready, 1u);
    std::filesystem::remove_all(dir);
}

TEST(SpoolLog, ConcurrentAppendsShareSyncsAndAllReadBack) {
    auto dir = tmpdir();
    Moved m;
    SpoolLog::Options opt;
    opt.segment_size = 1u << 20;
    opt.reserve = 2;
    opt.max_segments = 16;
    SpoolLog log(dir + "/log", opt, m.out());
    log.start();
    ASSERT_TRUE(log.wait_ready(std::chrono::seconds(30)));
    constexpr int kThreads = 8, kEach = 60;
    std::vector<std::thread> ts;
    std::atomic<int> plain{0};
    for (int t = 0; t < kThreads; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
                if (!log.append(id, id + "\n", std::string(20000 + i, static_cast<char>('a' + t)))) ++plain;
            }
        });
    for (auto& t : ts) t.join();
    auto st = log.stats();
    EXPECT_EQ(st.appended + static_cast<std::uint64_t>(plain.load()), static_cast<std::uint64_t>(kThreads * kEach));
    EXPECT_GT(st.appended, 0u);
    EXPECT_LE(st.syncs, st.appended);
    for (const auto& id : log.ids()) {
        auto img = log.read(id);
        ASSERT_TRUE(img) << id;
        EXPECT_EQ(img->substr(0, id.size() + 1), id + "\n");
    }
    std::filesystem::remove_all(dir);
}
