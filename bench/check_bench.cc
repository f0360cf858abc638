// check_bench.cc - per-message cost of `check`: parse + all nine rules +
// history lookup and insert, with 100k messages already in history on disk.
//
// The mail is a typical ~20 KB job application (multipart/alternative,
// quoted-printable text and HTML), each to a different firm; in the typical
// case each letter is different, in the blast case the same letter goes
// out 3000 times (one template family). History: 1000 senders x 100 messages over
// 30 days, in an SQLite file under /tmp, built at the start of each case.
// Target: median under 100 us. Figures: BENCHMARKS.md.
//
//   build/check_bench --benchmark_counters_tabular=true

#include "mime/message.h"
#include "policies/checker.h"
#include "policies/history.h"
#include "policies/policy.h"

#include "check_mail.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;
using namespace check_mail;

namespace {

std::string temp_db(const char* name) {
    return (std::filesystem::temp_directory_path() / name).string();
}

void report(benchmark::State& state, std::vector<double>& us) {
    std::sort(us.begin(), us.end());
    if (us.empty()) return;
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

// Parses and judges the mails in turn, one per iteration, and reports the
// p50 and p99 of each message's time (parse included).
template <class Judge>
void time_each(benchmark::State& state, const std::vector<std::string>& mails, Judge&& judge) {
    std::vector<double> us;
    std::size_t i = 0;
    for (auto _ : state) {
        const std::string& raw = mails[i++ % mails.size()];
        auto t0 = std::chrono::steady_clock::now();
        auto msg = rapport::mime::parse(raw);
        rp::CheckContext ctx;
        ctx.now = kNow;
        auto verdict = judge(msg, ctx);
        benchmark::DoNotOptimize(verdict);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    report(state, us);
}

// Typical: every message is a different letter (no template family grows).
// TemplateBlast: the same letter to a new firm every time, so one family
// grows to thousands of messages whose recipients are counted each time.
void check_case(benchmark::State& state, bool same_letter, const char* db, std::size_t write_behind = 0) {
    std::string path = build_history(temp_db(db));
    rp::SqliteHistory history(path);
    history.set_write_behind(write_behind);
    rp::Checker checker(rp::default_policy(), history);
    std::vector<std::string> mails;
    for (int v = 0; v < (same_letter ? 64 : 3000); ++v) mails.push_back(application(v, same_letter));
    time_each(state, mails, [&](const rapport::mime::Message& msg, const rp::CheckContext& ctx) {
        return checker.check(msg, ctx);
    });
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mails[0].size()));
    state.counters["mail_bytes"] = static_cast<double>(mails[0].size());
}

// The same without recording (what POST /api/v1/analyze does for a draft).
// `mixed`: the 3000 letters of Check, over 1000 senders, so that nothing of
// the previous check (a sender's organisations) is at hand; else one draft
// analysed again and again, as a mail client does while it is written.
void analyze_case(benchmark::State& state, bool mixed) {
    std::string path = build_history(temp_db("rapport-analyze-bench.db"));
    rp::SqliteHistory history(path);
    rp::Checker checker(rp::default_policy(), history);
    std::vector<std::string> mails;
    for (int v = 0; v < (mixed ? 3000 : 1); ++v) mails.push_back(application(mixed ? v : 1));
    time_each(state, mails, [&](const rapport::mime::Message& msg, const rp::CheckContext& ctx) {
        return checker.judge(msg, ctx);
    });
}

void BM_Analyze_20K_History100k(benchmark::State& state) { analyze_case(state, false); }
void BM_Analyze_20K_History100k_Mixed(benchmark::State& state) { analyze_case(state, true); }

} // namespace

void BM_Check_20K_History100k(benchmark::State& state) { check_case(state, false, "rapport-check-bench.db"); }
// The same with History::set_write_behind(4): one commit per 4 messages.
void BM_Check_20K_History100k_WriteBehind4(benchmark::State& state) {
    check_case(state, false, "rapport-check-bench.db", 4);
}
// What `rapportctl check` does with a run of files: one commit per 64.
void BM_Check_20K_History100k_WriteBehind64(benchmark::State& state) {
    check_case(state, false, "rapport-check-bench.db", 64);
}
void BM_Check_TemplateBlast_History100k(benchmark::State& state) {
    check_case(state, true, "rapport-check-blast.db");
}

BENCHMARK(BM_Check_20K_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Check_20K_History100k_WriteBehind4)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Check_20K_History100k_WriteBehind64)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Check_TemplateBlast_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Analyze_20K_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Analyze_20K_History100k_Mixed)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK_MAIN();
