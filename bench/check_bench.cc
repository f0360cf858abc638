// check_bench.cc - per-message cost of `check`: parse + all nine rules +
// history lookup and insert, with 100k messages already in history on disk.
//
// The mail is a typical ~20 KB job application (multipart/alternative,
// quoted-printable text and HTML), each to a different firm; in the typical
// case each letter is different, in the blast case the same letter goes
// out 3000 times (one template family). History: 1000 senders x 100 messages over
// 30 days, in an SQLite file under /tmp, built at the start of each case. Target
// (issue 3): median under 100 us. Figures: BENCHMARKS.md.
//
//   build/check_bench --benchmark_counters_tabular=true

#include "mime/message.h"
#include "policies/checker.h"
#include "policies/history.h"
#include "policies/policy.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;

namespace {

constexpr std::int64_t kNow = 1741000000; // early March 2025
constexpr int kSenders = 1000;
constexpr int kPerSender = 100;

std::string qp(const std::string& text) {
    std::string out;
    std::size_t col = 0;
    for (char c : text) {
        if (c == '\n') { out += "\r\n"; col = 0; continue; }
        if (col >= 72) { out += "=\r\n"; col = 0; }
        out += c;
        ++col;
    }
    return out;
}

// The typical case spreads the timed messages over the 1000 senders already
// in history (each then has ~100 messages in its window, like the rest); a
// single sender sending 3000 letters in a row would make its own window the
// thing measured.
std::string sender_of(int variant) {
    return variant % kSenders == 0 ? std::string("dan.okoro92@gmail.com")
                                   : "sender" + std::to_string(variant % kSenders) + "@gmail.com";
}

// A letter's middle paragraph: the same for every variant of a template
// blast, or drawn from a vocabulary so that letters are unrelated.
std::string paragraph(int variant, bool same_letter) {
    if (same_letter)
        return "I've been a customer service advisor for three years, handling energy billing queries by phone and "
               "webchat, and for the last eight months I've covered the team leader on late shifts - running the "
               "huddle, taking escalations and doing call-quality reviews with new starters.\n\n";
    static const char* vocab[] = {"warehouse", "team", "shift", "customers", "orders", "training", "safety",
                                  "stock", "deliveries", "reports", "schedule", "licence", "forklift", "quality",
                                  "accounts", "invoices", "payroll", "service", "calls", "projects", "budget",
                                  "design", "print", "clients", "events", "volunteers", "care", "patients",
                                  "kitchen", "menu", "drivers", "routes", "data", "dashboards", "code", "tests"};
    std::mt19937 rng(static_cast<unsigned>(variant) * 7919u + 1);
    std::string p = "In my current role I ";
    for (int w = 0; w < 40; ++w) {
        p += vocab[rng() % (sizeof vocab / sizeof *vocab)];
        p += (w % 9 == 8) ? ". I " : " ";
    }
    return p + "every week.\n\n";
}

std::string application(int variant, bool same_letter = false) {
    std::string first = "Helen" + std::to_string(variant);
    std::string from = same_letter ? std::string("dan.okoro92@gmail.com") : sender_of(variant);
    std::string para = paragraph(variant, same_letter);
    std::string plain = "Dear " + first + ",\n\nThanks for chatting to me at the Pellham open evening. I'm applying "
                        "for the Evening Shift Supervisor post in the Kettering contact centre.\n\n";
    while (plain.size() < 8000) plain += para;
    plain += "Best wishes,\nDan Okoro\n07700 900358\n";
    std::string html = "<div dir=\"ltr\"><div>Dear " + first + ",</div><div><br></div>";
    while (html.size() < 10500)
        html += "<div style=\"font-family:arial,sans-serif\">" + para.substr(0, para.size() - 2) + "</div><div><br></div>";
    html += "<div>Best wishes,</div><div>Dan Okoro</div></div>\n";
    return "MIME-Version: 1.0\r\nDate: Wed, 12 Mar 2025 18:40:11 +0000\r\n"
           "Message-ID: <bench-" + std::to_string(variant) + "@mail.gmail.com>\r\n"
           "Subject: Evening Shift Supervisor =?UTF-8?Q?=E2=80=93_Pellham_contact_centre?=\r\n"
           "From: Daniel Okoro <" + from + ">\r\n"
           "To: " + first + " Ward <" + first + ".ward@pellham" + std::to_string(variant) + ".co.uk>\r\n"
           "Content-Type: multipart/alternative; boundary=\"b0\"\r\n\r\n--b0\r\n"
           "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
           qp(plain) + "\r\n--b0\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(html) + "\r\n--b0--\r\n";
}

// 100k messages of 1000 senders (one of them ours) with unrelated texts,
// built afresh in each run (the history format may change between builds).
std::string build_history(const std::string& path) {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    {
        rp::History h(path);
        std::mt19937 rng(7);
        std::vector<std::string> vocab;
        for (int i = 0; i < 5000; ++i) vocab.push_back("w" + std::to_string(i));
        h.begin_batch();
        for (int s = 0; s < kSenders; ++s) {
            std::string sender = s == 0 ? "dan.okoro92@gmail.com" : "sender" + std::to_string(s) + "@gmail.com";
            for (int k = 0; k < kPerSender; ++k) {
                std::vector<std::string> words;
                for (int w = 0; w < 120; ++w) words.push_back(vocab[rng() % vocab.size()]);
                rp::SentRecord r;
                r.sender = sender;
                r.time = kNow - static_cast<std::int64_t>(rng() % (29 * 86400));
                r.recipients = {"p" + std::to_string(rng() % 100000) + "@firm" + std::to_string(rng() % 5000) + ".com"};
                r.organisations = {"firm" + std::to_string(rng() % 5000)};
                r.print = rp::fingerprint(words);
                h.record(r);
            }
        }
        h.end_batch();
    }
    return path;
}

std::string temp_db(const char* name) {
    return (std::filesystem::temp_directory_path() / name).string();
}

void report(benchmark::State& state, std::vector<double>& us) {
    std::sort(us.begin(), us.end());
    if (us.empty()) return;
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

// Typical: every message is a different letter (no template family grows).
// TemplateBlast: the same letter to a new firm every time, so one family
// grows to thousands of messages whose recipients are counted each time.
void check_case(benchmark::State& state, bool same_letter, const char* db, std::size_t write_behind = 0) {
    std::string path = build_history(temp_db(db));
    rp::History history(path);
    history.set_write_behind(write_behind);
    rp::Checker checker(rp::default_policy(), history);
    std::vector<std::string> mails;
    for (int v = 0; v < (same_letter ? 64 : 3000); ++v) mails.push_back(application(v, same_letter));
    std::vector<double> us;
    std::size_t i = 0;
    for (auto _ : state) {
        const std::string& raw = mails[i++ % mails.size()];
        auto t0 = std::chrono::steady_clock::now();
        auto msg = rapport::mime::parse(raw);
        rp::CheckContext ctx;
        ctx.now = kNow;
        auto verdict = checker.check(msg, ctx);
        benchmark::DoNotOptimize(verdict);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mails[0].size()));
    state.counters["mail_bytes"] = static_cast<double>(mails[0].size());
    report(state, us);
}

// The same without recording (what POST /api/v1/analyze does for a draft).
void BM_Analyze_20K_History100k(benchmark::State& state) {
    std::string path = build_history(temp_db("rapport-analyze-bench.db"));
    rp::History history(path);
    rp::Checker checker(rp::default_policy(), history);
    std::string raw = application(1);
    std::vector<double> us;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        auto msg = rapport::mime::parse(raw);
        rp::CheckContext ctx;
        ctx.now = kNow;
        ctx.record = false;
        auto verdict = checker.check(msg, ctx);
        benchmark::DoNotOptimize(verdict);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    report(state, us);
}

} // namespace

void BM_Check_20K_History100k(benchmark::State& state) { check_case(state, false, "rapport-check-bench.db"); }
// The same with History::set_write_behind(4): one commit per 4 messages.
void BM_Check_20K_History100k_WriteBehind4(benchmark::State& state) {
    check_case(state, false, "rapport-check-bench.db", 4);
}
void BM_Check_TemplateBlast_History100k(benchmark::State& state) {
    check_case(state, true, "rapport-check-blast.db");
}

BENCHMARK(BM_Check_20K_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Check_20K_History100k_WriteBehind4)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Check_TemplateBlast_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK(BM_Analyze_20K_History100k)->Unit(benchmark::kMicrosecond)->Iterations(3000);
BENCHMARK_MAIN();
