// check_profile.cc - the check_bench workload for valgrind --tool=callgrind,
// whose instruction counts do not depend on machine load (wall-clock
// benchmarks on a shared 2-core machine do). Instrumentation covers only
// the timed messages: parse + Checker::check, after 20 untimed ones.
//
//   build/check_profile build /tmp/h100k.db           # once: 100k history
//   cp /tmp/h100k.db /tmp/w.db
//   valgrind --tool=callgrind --instr-atstart=no build/check_profile analyze|mixed|check /tmp/w.db 100
//   (Ir / 100 = instructions per message; RAPPORT_WRITE_BEHIND=n for
//   History::set_write_behind(n))

#include "mime/message.h"
#include "policies/checker.h"
#include "policies/history.h"
#include "policies/policy.h"

#include "check_mail.h"

#include <valgrind/callgrind.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace check_mail;

int main(int argc, char** argv) {
    if (argc < 3 || (std::string(argv[1]) != "build" && argc < 4)) {
        std::fprintf(stderr, "usage: check_profile build DB | analyze DB N | mixed DB N | check DB N\n");
        return 2;
    }
    const std::string mode = argv[1], path = argv[2];
    if (mode == "build") {
        build_history(path);
        return 0;
    }
    const int n = std::atoi(argv[3]);
    // mixed: check's letters and senders, nothing recorded (check_bench's Analyze_Mixed).
    const bool analyze = mode == "analyze", mixed = mode == "mixed";
    rp::SqliteHistory history(path);
    if (const char* wb = std::getenv("RAPPORT_WRITE_BEHIND")) history.set_write_behind(std::strtoul(wb, nullptr, 10));
    rp::Checker checker(rp::default_policy(), history);
    // analyze: one letter again and again (check_bench's Analyze); check:
    // every letter different, spread over the senders (its typical Check).
    std::vector<std::string> mails;
    for (int v = 0; v < (analyze ? 1 : 3000); ++v) mails.push_back(application(analyze ? 1 : v));
    std::vector<double> us;
    for (int i = 0; i < n + 20; ++i) {
        if (i == 20) CALLGRIND_START_INSTRUMENTATION;
        const std::string& raw = mails[static_cast<std::size_t>(i + 7) % mails.size()];
        auto t0 = std::chrono::steady_clock::now();
        auto msg = rapport::mime::parse(raw);
        rp::CheckContext ctx;
        ctx.now = kNow;
        auto judged = checker.judge(msg, ctx);
        if (!analyze && !mixed) checker.record(judged);
        if (i >= 20) us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    std::sort(us.begin(), us.end());
    std::printf("%s: %d messages, p50 %.1f us, p99 %.1f us (wall, not meaningful under valgrind)\n", mode.c_str(), n,
                us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]);
}
