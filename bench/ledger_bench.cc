// ledger_bench.cc - the reply ledger's matching: one received message's
// header block (read_incoming) matched against 100 000 stored applications
// and recorded (Ledger::add_incoming: the duplicate check, the lookup, the
// answer's rows, the commit). Target: median under 50 us. Figures:
// BENCHMARKS.md, "The reply ledger".
//
// The store (an SQLite file under /tmp, WAL, as rapportd keeps it): 100 000
// applications, all within the 60-day reply window (the worst case: every
// one is a candidate by time), from 200 accounts of a job club to 20 000
// firms (five applications each, to a person's or a jobs@ address), every
// tenth already answered. Each timed message is a fresh one (its own
// Message-ID), one of:
//   Exact        a person's reply: In-Reply-To holds an application's Message-ID
//   Address      from an address written to, no reply headers (probable)
//   Organisation from a colleague at a firm written to (probable)
//   Ats          an applicant tracking system's mail naming the firm (probable)
//   Newsletter   a shop's newsletter (List-Unsubscribe): matched to nothing
//   FreeMail     a friend at gmail.com: matched to nothing
// Each kind is timed twice: one message to a transaction, and 200 (see
// match_case).
//
//   build/ledger_bench --benchmark_counters_tabular=true
//
// With RAPPORT_LEDGER_BENCH_PG set to a libpq URL (password included, e.g.
// from tests/store/pg_server.py start DIR: DIR/url + "?password=" +
// DIR/store.secret), the same workload on PostgreSQL ([store] url:
// store::PgLedgerRows), in a schema of its own filled once (about a minute)
// and kept. There every case works on that one store, brought back to
// how it was filled first (the answers earlier cases recorded deleted, the
// tables vacuumed: as SQLite's cases each get a fresh copy), and the
// received messages carry a run's own Message-IDs.

#include "policies/outcomes/incoming.h"
#include "policies/outcomes/ledger.h"
#ifdef RAPPORT_BENCH_PG
#include "store/pg.h"
#include "store/pg_ledger.h"
#include "store/schema.h"
#endif

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <time.h>

namespace fs = std::filesystem;
using namespace rapport::policies::outcomes;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kNow = 1'760'000'000;
constexpr int kApplications = 100'000;
constexpr int kFirms = 20'000;
constexpr int kAccounts = 200;

// Two-part firm names, 160 x 160 = 25 600: "Kestrelmoor", "Harbourfield".
const char* kFirst[] = {"kestrel", "harbour", "bright", "oak", "ferrow", "marlow", "coast", "aire", "stone", "silver",
                        "red", "blue", "green", "north", "south", "east", "west", "high", "low", "river",
                        "lake", "hill", "wood", "field", "brook", "glen", "moor", "dale", "vale", "cliff",
                        "bay", "port", "ash", "elm", "birch", "pine", "cedar", "rowan", "holly", "ivy",
                        "iron", "copper", "gold", "amber", "coral", "jade", "pearl", "ruby", "onyx", "flint",
                        "swift", "lark", "wren", "robin", "finch", "heron", "falcon", "hawk", "eagle", "owl",
                        "fox", "badger", "otter", "hare", "stag", "bear", "wolf", "lynx", "seal", "whale",
                        "star", "sun", "moon", "cloud", "rain", "snow", "frost", "storm", "wind", "tide",
                        "king", "queen", "crown", "castle", "tower", "bridge", "gate", "mill", "forge", "kiln",
                        "market", "abbey", "chapel", "manor", "grange", "court", "hall", "lodge", "cross", "well",
                        "nova", "terra", "aqua", "vita", "lumen", "axis", "apex", "vertex", "zenith", "prime",
                        "alder", "hazel", "willow", "poplar", "laurel", "myrtle", "juniper", "sorrel", "thyme", "sage",
                        "granite", "slate", "marble", "quartz", "chalk", "clay", "sand", "peat", "loam", "shale",
                        "anchor", "beacon", "compass", "harpoon", "lantern", "mast", "oar", "rudder", "sail", "keel",
                        "archer", "baker", "carter", "draper", "fletcher", "glover", "mason", "potter", "sawyer", "turner",
                        "orbit", "pulse", "quill", "rivet", "spark", "tangle", "umber", "velvet", "wicker", "yarrow"};
const char* kSecond[] = {"moor", "field", "ton", "ford", "wick", "by", "stead", "worth", "ley", "ham",
                         "gate", "bridge", "mouth", "side", "dale", "vale", "wood", "stone", "water", "well",
                         "works", "labs", "tech", "soft", "data", "logic", "net", "link", "point", "line",
                         "house", "home", "build", "craft", "make", "form", "shape", "print", "press", "post",
                         "foods", "farm", "fresh", "grow", "harvest", "kitchen", "bakery", "dairy", "brew", "mill",
                         "care", "health", "clinic", "vets", "dental", "pharma", "med", "life", "well", "fit",
                         "lets", "homes", "estates", "rent", "keys", "doors", "rooms", "space", "place", "yard",
                         "freight", "haul", "ship", "cargo", "fleet", "move", "route", "path", "way", "road",
                         "bank", "fund", "pay", "coin", "trust", "save", "loan", "cash", "mint", "vault",
                         "media", "studio", "films", "sound", "vision", "story", "words", "ink", "page", "book",
                         "power", "energy", "volt", "grid", "solar", "charge", "watt", "heat", "fuel", "flow",
                         "shop", "store", "market", "trade", "goods", "supply", "depot", "stock", "cart", "mart",
                         "school", "learn", "tutor", "class", "skill", "teach", "mentor", "campus", "lesson", "study",
                         "sport", "play", "game", "arena", "court", "pitch", "track", "pool", "gym", "club",
                         "garden", "plant", "flora", "leaf", "bloom", "root", "seed", "bud", "petal", "thorn",
                         "metal", "steel", "alloy", "weld", "cast", "tool", "gear", "bolt", "nut", "screw"};
constexpr int kFirstN = sizeof kFirst / sizeof *kFirst;
constexpr int kSecondN = sizeof kSecond / sizeof *kSecond;
static_assert(kFirstN * kSecondN >= kFirms);

std::string firm(int f) { return std::string(kFirst[f % kFirstN]) + kSecond[(f / kFirstN) % kSecondN]; }
std::string firm_name(int f) {
    std::string a = kFirst[f % kFirstN], b = kSecond[(f / kFirstN) % kSecondN];
    a[0] = static_cast<char>(a[0] - 'a' + 'A');
    return a + b;
}
std::string domain(int f) { return firm(f) + ".example"; }
// Application i goes to firm i % kFirms; every other one to a person there.
std::string recipient(int i) {
    int f = i % kFirms;
    return (i / kFirms) % 2 ? "jobs@" + domain(f) : "hiring.manager" + std::to_string(i / kFirms) + "@" + domain(f);
}
std::string message_id(int i) { return "app" + std::to_string(i) + ".k3x9@club.example"; }

// The Date of the answers the store is filled with (before any case's).
constexpr std::int64_t kPristineAnswered = 1'759'312'800; // Wed, 1 Oct 2025 10:00:00 +0000

// Bump when the workload or the schema changes: names the cached store.
constexpr const char* kVersion = "v3";

// The pristine store, built once (about 10 s) and kept under /tmp; each case
// works on a copy, so that no case sees another's answers.
void fill(Ledger& l) {
    std::vector<Ledger::Change> batch;
    for (int i = 0; i < kApplications; ++i) {
        Ledger::Change c;
        Outgoing& m = c.message;
        m.id = "q" + std::to_string(i);
        m.account = "member" + std::to_string(i % kAccounts);
        m.message_id = message_id(i);
        m.subject = "Application for the role at " + firm_name(i % kFirms);
        m.from = {"jobclub@club.example"};
        m.recipients = {recipient(i)};
        // Oldest first, the newest a minute before now, all inside 60 days.
        m.time = kNow - 59 * kDay + static_cast<std::int64_t>(i) * (59 * kDay) / kApplications;
        m.application = true;
        if (i % 3 == 0) m.rules = {"generic-greeting"};
        batch.push_back(std::move(c));
        if (batch.size() == 2000) {
            l.apply(batch);
            batch.clear();
        }
    }
    if (!batch.empty()) l.apply(batch);
    // Every tenth application already has its answer.
    for (int i = 0; i < kApplications; i += 10) {
        std::string h = "From: Someone <someone@" + domain(i % kFirms) + ">\r\nMessage-ID: <pre" + std::to_string(i) +
                        "@answers.example>\r\nIn-Reply-To: <" + message_id(i) + ">\r\nDate: Wed, 1 Oct 2025 10:00:00 +0000\r\n\r\n";
        l.add_incoming(read_incoming(h), kNow);
    }
}

void build_pristine(const std::string& path) {
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(path + ext);
    Ledger l(path);
    fill(l);
}

std::string store() {
    const fs::path dir = fs::temp_directory_path();
    const std::string pristine = (dir / (std::string("rapport-ledger-bench-") + kVersion + ".db")).string();
    if (!fs::exists(pristine + ".done")) {
        build_pristine(pristine);
        std::ofstream(pristine + ".done") << "built\n";
    }
    const std::string copy = (dir / "rapport-ledger-bench-run.db").string();
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(copy + ext);
    fs::copy_file(pristine, copy); // the Ledger closed cleanly: everything is in the main file
    return copy;
}

// The received messages' Message-IDs: unique to this run on PostgreSQL,
// where every case shares one store.
std::string run_salt;

#ifdef RAPPORT_BENCH_PG
// The PostgreSQL store, filled on first use: one pool for the run.
rapport::store::pg::Pool* pg_pool() {
    static std::unique_ptr<rapport::store::pg::Pool> pool = [] {
        namespace pg = rapport::store::pg;
        const std::string url = std::getenv("RAPPORT_LEDGER_BENCH_PG");
        const std::string schema = std::string("ledger_bench_") + kVersion;
        pg::Conn(url).run("CREATE SCHEMA IF NOT EXISTS " + schema);
        auto p = std::make_unique<pg::Pool>(url + (url.find('?') == std::string::npos ? "?" : "&") +
                                                "options=-csearch_path%3D" + schema,
                                            2, nullptr);
        std::int64_t have = 0;
        {
            pg::Lease c = p->acquire();
            rapport::store::migrate(*c);
            have = c->exec("SELECT count(*) FROM ledger_outgoing").i64(0, 0);
        }
        if (have != kApplications) {
            if (have) throw std::runtime_error("schema " + schema + " is half filled: DROP SCHEMA " + schema + " CASCADE");
            Ledger l(std::make_unique<rapport::store::PgLedgerRows>(*p, "", nullptr));
            fill(l);
            pg::Lease c = p->acquire();
            for (const char* t : {"ledger_outgoing", "ledger_rcpt", "ledger_org_key", "ledger_answer", "ledger_seen"})
                c->run(std::string("VACUUM ANALYZE ") + t); // one each: VACUUM runs in no transaction
        }
        run_salt = std::to_string(std::random_device{}()) + ".";
        return p;
    }();
    return pool.get();
}
#endif

std::unique_ptr<Ledger> bench_ledger() {
#ifdef RAPPORT_BENCH_PG
    if (std::getenv("RAPPORT_LEDGER_BENCH_PG")) {
        // Opening forgets the received-message keys (older than 400 days by
        // the clock); the answers of earlier cases (dated after the
        // pristine ones) go here.
        auto l = std::make_unique<Ledger>(std::make_unique<rapport::store::PgLedgerRows>(*pg_pool(), "", nullptr));
        rapport::store::pg::Lease c = pg_pool()->acquire();
        c->exec("DELETE FROM ledger_answer WHERE time > $1", {kPristineAnswered});
        for (const char* t : {"ledger_answer", "ledger_seen"}) c->run(std::string("VACUUM ANALYZE ") + t);
        return l;
    }
#endif
    return std::make_unique<Ledger>(store());
}

std::string header_block(const std::string& from, const std::string& subject, const std::string& extra, std::uint64_t n) {
    return "Return-Path: <bounce@mail.example>\r\nReceived: from mx.example by mail.example.org; Wed, 8 Oct 2025 10:00:00 +0000\r\n"
           "From: " + from + "\r\nTo: Member <jobclub@club.example>\r\nSubject: " + subject +
           "\r\nDate: Wed, 8 Oct 2025 10:00:00 +0000\r\nMessage-ID: <in" + run_salt + std::to_string(n) +
           ".q8@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" + extra + "\r\n";
}

enum class Kind { exact, address, organisation, ats, newsletter, freemail };

std::string incoming(Kind k, std::uint64_t n, std::mt19937& rng) {
    // A recent application (the last 30 days), so that replies fall in the window.
    int i = kApplications / 2 + static_cast<int>(rng() % (kApplications / 2));
    int f = i % kFirms;
    switch (k) {
    case Kind::exact:
        return header_block("Dana Reyes <dana.reyes@" + domain(f) + ">", "Re: Application for the role at " + firm_name(f),
                            "In-Reply-To: <" + message_id(i) + ">\r\nReferences: <" + message_id(i) + ">\r\n", n);
    case Kind::address: return header_block("Jobs <" + recipient(i) + ">", "Your application", "", n);
    case Kind::organisation: return header_block("Tom Price <tom.price@" + domain(f) + ">", "Interview next week?", "", n);
    case Kind::ats:
        return header_block(firm_name(f) + " Recruiting <no-reply@greenhouse.io>", "Thank you for applying", "", n);
    case Kind::newsletter:
        return header_block("Cornerstone Shop <news@cornerstone-shop.example>", "Autumn sale: 20% off",
                            "List-Unsubscribe: <https://cornerstone-shop.example/u>\r\nPrecedence: bulk\r\n", n);
    case Kind::freemail: return header_block("Sam Lee <sam.lee@gmail.com>", "Walk on Sunday?", "", n);
    }
    return {};
}

// This thread's CPU time in microseconds (its own work and the system calls
// it made, not the time it waited for the disk or for a core).
double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// p50/p99 of the wall-clock time, and p50 of the CPU time: on a busy
// machine the wall clock also counts other processes' turns on the cores.
void report(benchmark::State& state, std::vector<double>& us, std::vector<double>& cpu) {
    std::sort(us.begin(), us.end());
    std::sort(cpu.begin(), cpu.end());
    if (us.empty()) return;
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    state.counters["cpu_p50_us"] = cpu[cpu.size() / 2];
}

// `batch` 1: each message in a transaction of its own, as the reader
// writes one new message it was told of (IDLE); the time is one message's.
// `batch` 200: as the reader writes one FETCH of a first sync or a burst
// (Ledger::add_incoming_batch); the time is the batch's divided by 200.
// Either way the time includes read_incoming() of the header block.
void match_case(benchmark::State& state, Kind kind, Answer::Kind want, std::size_t batch) {
    std::unique_ptr<Ledger> opened = bench_ledger();
    Ledger& ledger = *opened;
    std::mt19937 rng(42);
    std::vector<double> us, cpu;
    std::uint64_t n = 0;
    int wrong = 0;
    std::vector<std::string> blocks(batch);
    std::vector<Incoming> ins(batch);
    for (auto _ : state) {
        for (auto& b : blocks) b = incoming(kind, ++n, rng);
        auto t0 = std::chrono::steady_clock::now();
        const double c0 = thread_cpu_us();
        std::vector<Answer> answers;
        if (batch == 1) {
            answers.push_back(ledger.add_incoming(read_incoming(blocks[0]), kNow));
        } else {
            for (std::size_t i = 0; i < batch; ++i) ins[i] = read_incoming(blocks[i]);
            answers = ledger.add_incoming_batch(ins, kNow);
        }
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
                     static_cast<double>(batch));
        cpu.push_back((thread_cpu_us() - c0) / static_cast<double>(batch));
        for (const auto& a : answers) wrong += a.kind != want;
        benchmark::DoNotOptimize(answers);
    }
    // The workload must do what it claims (an ATS mail that matches nothing measures nothing).
    if (wrong) state.SkipWithError(("answers of the wrong kind: " + std::to_string(wrong)).c_str());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    report(state, us, cpu);
}

} // namespace

#define LEDGER_CASE(name, kind, want)                                                                                \
    void BM_Match_##name##_100k(benchmark::State& s) { match_case(s, Kind::kind, Answer::want, 1); }                  \
    void BM_Match_##name##_100k_Batch200(benchmark::State& s) { match_case(s, Kind::kind, Answer::want, 200); }       \
    BENCHMARK(BM_Match_##name##_100k)->Unit(benchmark::kMicrosecond)->Iterations(5000);                               \
    BENCHMARK(BM_Match_##name##_100k_Batch200)->Unit(benchmark::kMicrosecond)->Iterations(25);

LEDGER_CASE(Exact, exact, replied)
LEDGER_CASE(Address, address, replied)
LEDGER_CASE(Organisation, organisation, replied)
LEDGER_CASE(Ats, ats, replied)
LEDGER_CASE(Newsletter, newsletter, unrelated)
LEDGER_CASE(FreeMail, freemail, unrelated)
BENCHMARK_MAIN();
