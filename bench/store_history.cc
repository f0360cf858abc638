// store_history.cc - the template memory on PostgreSQL: what one check
// costs against a history of N stored messages (store::PgHistory).
//
//   build/store_history_bench URL MESSAGES [TIMED]
//
// URL is a libpq URI (password included, e.g. from tests/store/pg_server.py).
// The history is filled up to MESSAGES (1000 senders, letters drawn from a
// few templates per sender with sentences swapped, one recipient and one
// organisation each, a minute apart), skipping what a previous run left;
// then TIMED (default 5000) checks are timed one by one as the checker does
// them: a snapshot, organisations(), count_similar(), then record() (a
// lookup and its record) for senders picked at random. Prints p50, p90,
// p99 and max in microseconds, and how many lookups found their template.

#include "policies/history.h"
#include "store/pg.h"
#include "store/pg_history.h"
#include "store/schema.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;
namespace rs = rapport::store;

namespace {

constexpr int kSenders = 1000;
constexpr std::int64_t kStart = 1'700'000'000;

const char* const kSentences[] = {
    "i saw your advert for a delivery driver on the council jobs board last friday",
    "my clean driving licence and knowledge of the local roads would let me plan routes",
    "customers have often praised my friendly manner on the doorstep",
    "i keep accurate records of each drop using handheld scanners",
    "your commitment to electric vans is something i would be proud to be part of",
    "could we arrange a short call next week to talk about the route structure",
    "i have three years of experience in busy distribution centres",
    "i am reliable punctual and happy to work early shifts and weekends",
    "i enjoy working in a team and have trained new starters on safety",
    "i live close to your site and can start after a short notice period",
    "thank you for considering my application i look forward to hearing from you",
    "my degree in logistics covered warehouse design and stock control",
    "i volunteered at the food bank sorting donations every saturday",
    "last summer i led a team of six during the peak season",
    "i speak polish and english and some spanish",
    "i would welcome the chance to discuss how i could help your team",
    "i am finishing my level three in bookkeeping this spring",
    "at the wholesaler i reconciled supplier invoices every month end",
    "i like tidy ledgers and careful work",
    "i am happy to start with temporary cover while you decide",
};
constexpr int kPool = sizeof kSentences / sizeof *kSentences;

// Message n of sender s: one of the sender's four templates, a sentence in
// eight swapped, the sender's id in the words so no two senders share text.
std::vector<std::string> letter(int sender, std::uint64_t n, std::mt19937_64& rng) {
    int tmpl = static_cast<int>((n / 7 + static_cast<std::uint64_t>(sender)) % 4);
    std::vector<std::string> words;
    for (int s = 0; s < 7; ++s) {
        int k = (tmpl * 5 + s + sender) % kPool;
        if (rng() % 8 == 0) k = static_cast<int>(rng() % kPool);
        std::string text = kSentences[k];
        std::size_t p = 0;
        while (p < text.size()) {
            auto e = text.find(' ', p);
            words.push_back(text.substr(p, e - p));
            if (e == std::string::npos) break;
            p = e + 1;
        }
        words.push_back("s" + std::to_string(sender));
    }
    return words;
}

rp::SentRecord record_of(int sender, std::uint64_t n, std::int64_t time, std::mt19937_64& rng) {
    rp::SentRecord r;
    r.sender = "sender" + std::to_string(sender) + "@example.org";
    r.time = time;
    r.recipients = {"jobs" + std::to_string(n % 997) + "@firm" + std::to_string(n % 331) + ".example"};
    r.organisations = {"firm" + std::to_string(n % 331)};
    r.print = rp::fingerprint(letter(sender, n, rng));
    return r;
}

double pct(std::vector<double>& v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(static_cast<double>(v.size()) * p))];
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s URL MESSAGES [TIMED]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const std::int64_t want = std::stoll(argv[2]);
    const int timed = argc > 3 ? std::stoi(argv[3]) : 5000;
    try {
        rs::pg::Pool pool(url, 2, nullptr);
        {
            rs::pg::Lease c = pool.acquire();
            rs::migrate(*c);
        }
        rs::AllowList allow(pool);
        rs::PgHistory h(pool, allow);
        std::int64_t have = pool.with([](rs::pg::Conn& c) { return c.exec("SELECT count(*) FROM history_msg").i64(0, 0); });
        std::mt19937_64 rng(42 + static_cast<std::uint64_t>(have));
        auto t0 = std::chrono::steady_clock::now();
        // A minute apart, senders in turn: the whole history inside 30 days only for small N.
        for (std::int64_t n = have; n < want;) {
            h.begin_batch();
            for (int i = 0; i < 5000 && n < want; ++i, ++n)
                h.record(record_of(static_cast<int>(n % kSenders), static_cast<std::uint64_t>(n / kSenders),
                                   kStart + n * 60 / kSenders, rng));
            h.end_batch();
            if (n % 100000 == 0)
                std::fprintf(stderr, "filled %lld of %lld (%.0f s)\n", static_cast<long long>(n),
                             static_cast<long long>(want),
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        if (have < want) {
            pool.with([](rs::pg::Conn& c) { c.run("VACUUM ANALYZE history_msg, history_band, history_family_rcpt, history_org"); });
            have = want;
        }
        const std::int64_t now = kStart + have * 60 / kSenders + 60;
        std::vector<double> us;
        int found = 0;
        for (int i = 0; i < timed; ++i) {
            int sender = static_cast<int>(rng() % kSenders);
            auto rec = record_of(sender, static_cast<std::uint64_t>(have / kSenders + i), now + i, rng);
            auto t = std::chrono::steady_clock::now();
            {
                rp::History::Snapshot s(h);
                auto orgs = h.organisations(rec.sender, now - 30 * 86400);
                auto c = h.count_similar(rec.sender, rec.print, now - 30 * 86400, now + i, rec.recipients, rec.sender);
                found += c.found;
                (void)orgs;
            }
            h.record(rec);
            us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
        }
        std::printf("messages=%lld timed=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f found=%d\n",
                    static_cast<long long>(have), timed, pct(us, 0.5), pct(us, 0.9), pct(us, 0.99), pct(us, 1.0), found);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_history_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
