// history_bench.cc - the template memory on disk: one lookup + one insert
// (what the checker does per message) against 10k, 100k and 1M stored
// messages. Figures go into BENCHMARKS.md, "Template memory (issue 3)".
//
// Workload (synthetic, made to be the honest hard case for LSH):
//  - every letter of a sender repeats the sender's two-sentence bio, so any
//    two of its letters are ~0.1-0.15 similar (false band candidates);
//  - 60% of letters reuse one of the sender's templates, each template used
//    ~15 times within the window (a lazy seeker's cluster); 40% are freshly
//    written (bio + six new sentences);
//  - all messages of a history spread over the 30 days before "now"; the
//    query looks back 30 days; one recipient and one organisation each.
// Two shapes (argument 2):
//  - 0 "per-sender": 1000 messages per sender in the window (~33 a day, a
//    very busy job seeker) and history/1000 senders - a growing user base;
//  - 1 "200 senders": history/200 per sender, i.e. 5000 per sender at 1M
//    (~170 letters a day each, beyond any person: the stress case).
// The pristine database is generated once into /tmp (one transaction) and
// copied for each run, so runs do not grow it.
//
//   build/history_bench --benchmark_filter=History

#include "policies/history.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace fs = std::filesystem;
using namespace rapport::policies;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kNow = 1'750'000'000;
constexpr std::int64_t kWindow = 30 * kDay;

struct Gen {
    std::mt19937_64 rng;
    explicit Gen(std::uint64_t seed) : rng(seed) {}
    std::string word() { return "w" + std::to_string(rng() % 20000); }
    void sentence(std::vector<std::string>& out) {
        int n = 12 + static_cast<int>(rng() % 9);
        for (int i = 0; i < n; ++i) out.push_back(word());
        out.push_back(".");
    }
    std::vector<std::string> sentences(int k) {
        std::vector<std::string> out;
        for (int i = 0; i < k; ++i) sentence(out);
        return out;
    }
};

struct SenderModel {
    std::string name;
    std::vector<std::string> bio;
    std::vector<Fingerprint> templates; // bio + template body, fingerprinted once
};

struct Shape {
    std::int64_t history;
    int senders;
    int per_sender() const { return static_cast<int>(history / senders); }
};

Shape shape(std::int64_t history, int kind) {
    if (kind == 0) return {history, static_cast<int>(std::max<std::int64_t>(1, history / 1000))};
    return {history, 200};
}

std::vector<SenderModel> make_senders(const Shape& s, Gen& g) {
    std::vector<SenderModel> out(static_cast<std::size_t>(s.senders));
    int templates = std::max(1, s.per_sender() * 6 / 10 / 15);
    for (int i = 0; i < s.senders; ++i) {
        auto& m = out[static_cast<std::size_t>(i)];
        m.name = "seeker" + std::to_string(i) + "@mail.example";
        m.bio = g.sentences(2);
        for (int t = 0; t < templates; ++t) {
            auto w = m.bio;
            auto body = g.sentences(6);
            w.insert(w.end(), body.begin(), body.end());
            m.templates.push_back(fingerprint(w));
        }
    }
    return out;
}

Fingerprint letter(const SenderModel& m, Gen& g) {
    if (g.rng() % 10 < 6) return m.templates[g.rng() % m.templates.size()];
    auto w = m.bio;
    auto body = g.sentences(6);
    w.insert(w.end(), body.begin(), body.end());
    return fingerprint(w);
}

std::int64_t count_rows(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM msg", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

// Builds (once) the pristine database for a shape; returns its path.
std::string pristine(const Shape& s, int kind) {
    std::string path = (fs::temp_directory_path() /
                        ("rapport-history-bench-v1-" + std::to_string(kind) + "-" + std::to_string(s.history) + ".db"))
                           .string();
    if (fs::exists(path) && !fs::exists(path + "-wal") && count_rows(path) == s.history) return path;
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
    Gen g(42 + static_cast<std::uint64_t>(kind));
    auto senders = make_senders(s, g);
    {
        History h(path);
        h.begin_batch();
        for (std::int64_t i = 0; i < s.history; ++i) {
            const auto& m = senders[static_cast<std::size_t>(g.rng() % senders.size())];
            SentRecord r;
            r.sender = m.name;
            r.time = kNow - kWindow + static_cast<std::int64_t>(g.rng() % kWindow);
            r.recipients = {"jobs@firm" + std::to_string(g.rng() % 500000) + ".example"};
            r.organisations = {"firm" + std::to_string(g.rng() % 500000)};
            r.print = letter(m, g);
            h.record(r);
        }
        h.end_batch();
    }
    // Fold the WAL into the file so its size is the database's size.
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return path;
}

void BM_LookupInsert(benchmark::State& state) {
    const int kind = static_cast<int>(state.range(1));
    const Shape s = shape(state.range(0), kind);
    const std::string src = pristine(s, kind);
    const std::string work = src + ".run";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
    fs::copy_file(src, work);
    const double bytes_per_msg = static_cast<double>(fs::file_size(src)) / static_cast<double>(s.history);

    // Queries come from the same senders (same seed as the build, so the
    // bios and templates match the stored ones); fingerprinted up front.
    Gen g(42 + static_cast<std::uint64_t>(kind));
    auto senders = make_senders(s, g);
    Gen q(7);
    constexpr int kQueries = 2000;
    std::vector<SentRecord> queries(kQueries);
    for (int i = 0; i < kQueries; ++i) {
        const auto& m = senders[static_cast<std::size_t>(q.rng() % senders.size())];
        queries[static_cast<std::size_t>(i)].sender = m.name;
        queries[static_cast<std::size_t>(i)].recipients = {"hr@new" + std::to_string(i) + ".example"};
        queries[static_cast<std::size_t>(i)].organisations = {"new" + std::to_string(i)};
        queries[static_cast<std::size_t>(i)].print = letter(m, q);
    }

    std::vector<double> us, find_us, rec_us;
    double found = 0;
    {
        History h(work);
        std::int64_t i = 0;
        for (auto _ : state) {
            auto& rec = queries[static_cast<std::size_t>(i % kQueries)];
            rec.time = kNow + i;
            auto t0 = std::chrono::steady_clock::now();
            auto r = h.find_similar(rec.sender, rec.print, rec.time - kWindow, rec.time);
            auto tf = std::chrono::steady_clock::now();
            h.record(rec);
            auto t1 = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(r);
            found += r.messages;
            us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
            find_us.push_back(std::chrono::duration<double, std::micro>(tf - t0).count());
            rec_us.push_back(std::chrono::duration<double, std::micro>(t1 - tf).count());
            ++i;
        }
    }
    auto pct = [](std::vector<double>& v, double p) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
    };
    state.counters["p50_us"] = pct(us, 0.50);
    state.counters["p99_us"] = pct(us, 0.99);
    state.counters["find_p50_us"] = pct(find_us, 0.50);
    state.counters["find_p99_us"] = pct(find_us, 0.99);
    state.counters["record_p50_us"] = pct(rec_us, 0.50);
    state.counters["record_p99_us"] = pct(rec_us, 0.99);
    state.counters["max_us"] = us.empty() ? 0.0 : us.back();
    state.counters["bytes_per_msg"] = bytes_per_msg;
    state.counters["senders"] = s.senders;
    state.counters["matches_per_lookup"] = us.empty() ? 0.0 : found / static_cast<double>(us.size());
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
}

// Pruning one day out of the 30 kept (what a daily prune does).
void BM_PruneOneDay(benchmark::State& state) {
    const int kind = static_cast<int>(state.range(1));
    const Shape s = shape(state.range(0), kind);
    const std::string src = pristine(s, kind);
    const std::string work = src + ".prune";
    for (auto _ : state) {
        state.PauseTiming();
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
        fs::copy_file(src, work);
        History h(work);
        state.ResumeTiming();
        h.prune(kNow - kWindow + kDay);
    }
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
}

} // namespace

BENCHMARK(BM_LookupInsert)
    ->ArgNames({"history", "shape"})
    ->ArgsProduct({{10'000, 100'000, 1'000'000}, {0, 1}})
    ->Iterations(5000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PruneOneDay)
    ->ArgNames({"history", "shape"})
    ->ArgsProduct({{10'000, 100'000, 1'000'000}, {0}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
