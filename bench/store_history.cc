// store_history.cc - the template memory on PostgreSQL: what one check
// costs against a history of N stored messages (store::PgHistory).
//
//   build/store_history_bench URL MESSAGES [TIMED]
//
// URL is a libpq URI with the password in it (bench/store_history.py starts
// a server and passes one). bench/store_history.py is the one command; this
// program is its worker.
//
// Workload: history_bench.cc's shape 0 (BENCHMARKS.md, "Template memory"):
// MESSAGES/1000 senders with 1000 messages each, spread over the 30 days
// before "now" in sending order; every letter repeats its sender's
// two-sentence bio; 40% are exact copies of one of the sender's templates,
// 20% copies with the last sentence rewritten, 40% freshly written; one
// recipient and one organisation each, drawn from 500000.
//
// Filling: unless the database was filled with MESSAGES messages by an
// earlier run (rapport_settings 'store_history_bench'), the history is
// emptied and bulk-loaded with COPY (record() runs at ~1000 messages a
// second: 10M would take hours). The rows are those record() writes: the
// same fingerprints (policies::fingerprint), band keys (minhash::band_keys),
// template families (each message joins the family of its most similar
// candidate among the newest kBucketLimit of each of its buckets at
// kTemplateThreshold or above - PgHistory::record()'s rule, replayed here
// sender by sender), family recipients and organisations with their latest
// time. Rows go in in sending order, as record() would have appended them.
// The indexes and primary keys are dropped for the load and created again
// from their own definitions (checked equal after), then VACUUM ANALYZE.
//
// Timing: TIMED (default 5000; 0 = fill only) checks, after 500 untimed
// ones, for senders drawn at random, continuing the timeline at the
// history's own rate (prune() then forgets about as much as record() adds,
// as in steady use). One check is what policies::Checker does: a Snapshot
// with organisations() and count_similar() (template-reuse's call), then
// record(), then prune(now - 30 days). Prints p50/p99 lines in microseconds
// for the lookup, record(), lookup+record (the target), and the whole check
// with prune, then the tables' sizes.

#include "policies/history.h"
#include "policies/minhash.h"
#include "store/pg.h"
#include "store/pg_history.h"
#include "store/schema.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rp = rapport::policies;
namespace rs = rapport::store;
namespace mh = rapport::policies::minhash;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kNow = 1'750'000'000;
constexpr std::int64_t kWindow = 30 * kDay;
constexpr int kPerSender = 1000;
constexpr int kBio = 2;           // sentences of eight
constexpr int kAddresses = 500000; // recipients and organisations drawn from

using Words = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Gen {
    std::mt19937_64 rng;
    explicit Gen(std::uint64_t seed) : rng(seed) {}
    void sentence(Words& out) {
        int n = 12 + static_cast<int>(rng() % 9);
        for (int i = 0; i < n; ++i) out.push_back("w" + std::to_string(rng() % 20000));
        out.push_back(".");
    }
    Words sentences(int k) {
        Words out;
        for (int i = 0; i < k; ++i) sentence(out);
        return out;
    }
};

Words join(const Words& a, const Words& b) {
    Words w = a;
    w.insert(w.end(), b.begin(), b.end());
    return w;
}

struct Template {
    Words body;
    rp::Fingerprint print;
};

// A sender's bio and templates, the same for the fill and the timed checks.
struct Sender {
    std::string name;
    Words bio;
    std::vector<Template> templates;
};

std::string sender_name(int s) { return "seeker" + std::to_string(s) + "@mail.example"; }

Sender make_sender(int s, Gen& g) {
    Sender m;
    m.name = sender_name(s);
    m.bio = g.sentences(kBio);
    for (int t = 0; t < kPerSender * 6 / 10 / 15; ++t) {
        Template tp;
        tp.body = g.sentences(8 - kBio);
        tp.print = rp::fingerprint(join(m.bio, tp.body));
        m.templates.push_back(std::move(tp));
    }
    return m;
}

rp::Fingerprint letter(const Sender& m, Gen& g) {
    auto r = g.rng() % 10;
    if (r < 4) return m.templates[g.rng() % m.templates.size()].print; // exact copy
    if (r < 6) {                                                        // last sentence rewritten
        const Template& t = m.templates[g.rng() % m.templates.size()];
        std::size_t cut = 0, seen = 0;
        for (std::size_t i = 0; i < t.body.size(); ++i)
            if (t.body[i] == "." && ++seen == static_cast<std::size_t>(8 - kBio - 1)) cut = i + 1;
        Words b(t.body.begin(), t.body.begin() + static_cast<std::ptrdiff_t>(cut));
        g.sentence(b);
        return rp::fingerprint(join(m.bio, b));
    }
    return rp::fingerprint(join(m.bio, g.sentences(8 - kBio))); // fresh letter
}

std::uint64_t sender_seed(int s) { return 0x5eed0000ULL + static_cast<std::uint64_t>(s); }
std::int64_t time_of(std::int64_t i, std::int64_t n) { return kNow - kWindow + i * kWindow / n; }
std::string rcpt_of(int k) { return "jobs@firm" + std::to_string(k) + ".example"; }
std::string org_of(int k) { return "firm" + std::to_string(k); }

// ---- the fill ----------------------------------------------------------

constexpr std::size_t kSigBytes = rp::kSignatureSize * 2;

struct Fill {
    std::int64_t n = 0;
    int senders = 0;
    std::vector<std::int32_t> sender_of; // message i (id i + 1, sending order)
    std::vector<char> sig;               // kSigBytes per message
    std::vector<std::int64_t> tid;
    std::vector<std::int32_t> rcpt, org;
    struct Row {
        std::int64_t last;
        std::int64_t tid; // -1 for an organisation
        std::int32_t sender, key;
    };
    std::vector<Row> family_rcpt, orgs;
};

// One sender's messages in sending order: fingerprints, and the family each
// joins as PgHistory::record() decides it (search(), then the most similar
// candidate at kTemplateThreshold or above, the newest on a tie).
void replay_sender(Fill& f, int s, const std::vector<std::int64_t>& msgs, std::vector<Fill::Row>& rcpt_rows,
                   std::vector<Fill::Row>& org_rows) {
    Gen g(sender_seed(s));
    Sender m = make_sender(s, g);
    std::unordered_map<std::int64_t, std::vector<std::int64_t>> buckets; // band key -> message ids, oldest first
    std::unordered_map<std::int64_t, rp::Fingerprint> stored;            // id -> decoded signature
    std::unordered_map<std::int64_t, std::int64_t> tids;
    std::map<std::pair<std::int64_t, int>, std::int64_t> fam_last;
    std::map<int, std::int64_t> org_last;
    for (std::int64_t i : msgs) {
        const std::int64_t id = i + 1;
        rp::Fingerprint print = letter(m, g);
        const std::string enc = mh::encode(print);
        std::memcpy(&f.sig[static_cast<std::size_t>(i) * kSigBytes], enc.data(), kSigBytes);
        const auto keys = mh::band_keys(0, print);
        std::unordered_set<std::int64_t> seen;
        std::int64_t best_id = -1, best_tid = -1;
        double best_sim = -1;
        for (auto k : keys) {
            auto b = buckets.find(k);
            if (b == buckets.end()) continue;
            const auto& ids = b->second;
            for (std::size_t j = 0; j < ids.size() && j < static_cast<std::size_t>(mh::kBucketLimit); ++j) {
                std::int64_t c = ids[ids.size() - 1 - j];
                if (!seen.insert(c).second) continue;
                double sim = rp::similarity(stored.at(c), print);
                if (sim >= mh::kTemplateThreshold && (sim > best_sim || (sim == best_sim && c > best_id))) {
                    best_sim = sim;
                    best_id = c;
                    best_tid = tids.at(c);
                }
            }
        }
        const std::int64_t t = best_id >= 0 ? best_tid : id;
        f.tid[static_cast<std::size_t>(i)] = t;
        tids[id] = t;
        stored[id] = mh::decode(enc.data(), enc.size());
        std::unordered_set<std::int64_t> distinct(keys.begin(), keys.end());
        for (auto k : distinct) buckets[k].push_back(id);
        const int rk = static_cast<int>(g.rng() % kAddresses), ok = static_cast<int>(g.rng() % kAddresses);
        f.rcpt[static_cast<std::size_t>(i)] = rk;
        f.org[static_cast<std::size_t>(i)] = ok;
        const std::int64_t time = time_of(i, f.n);
        auto& fl = fam_last[{t, rk}];
        fl = std::max(fl, time);
        auto& ol = org_last[ok];
        ol = std::max(ol, time);
    }
    for (const auto& [k, last] : fam_last) rcpt_rows.push_back({last, k.first, s, k.second});
    for (const auto& [k, last] : org_last) org_rows.push_back({last, -1, s, k});
}

// COPY ... FROM STDIN in text format, fed in 1 MB pieces.
class Copy {
public:
    Copy(rs::pg::Conn& c, const std::string& sql) : c_(c) {
        PGresult* r = PQexec(c_.raw(), sql.c_str());
        bool ok = PQresultStatus(r) == PGRES_COPY_IN;
        PQclear(r);
        if (!ok) throw std::runtime_error(sql + ": " + PQerrorMessage(c_.raw()));
        buf_.reserve(1 << 20);
    }
    std::string& buf() { return buf_; }
    void maybe_send() {
        if (buf_.size() >= (1 << 20)) send();
    }
    void finish() {
        send();
        if (PQputCopyEnd(c_.raw(), nullptr) != 1) throw std::runtime_error(PQerrorMessage(c_.raw()));
        PGresult* r = PQgetResult(c_.raw());
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        std::string err = ok ? "" : PQresultErrorMessage(r);
        PQclear(r);
        while ((r = PQgetResult(c_.raw()))) PQclear(r);
        if (!ok) throw std::runtime_error("COPY: " + err);
    }

private:
    void send() {
        if (!buf_.empty() && PQputCopyData(c_.raw(), buf_.data(), static_cast<int>(buf_.size())) != 1)
            throw std::runtime_error(PQerrorMessage(c_.raw()));
        buf_.clear();
    }
    rs::pg::Conn& c_;
    std::string buf_;
};

void append_hex(std::string& out, const char* p, std::size_t n) {
    static const char* d = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        auto b = static_cast<unsigned char>(p[i]);
        out += d[b >> 4];
        out += d[b & 15];
    }
}

const char* const kTables[] = {"history_msg", "history_band", "history_family_rcpt", "history_org"};

std::string table_list() {
    std::string s;
    for (const char* t : kTables) s += std::string(s.empty() ? "" : ", ") + t;
    return s;
}

// The history tables' indexes as pg_indexes shows them (primary keys too).
std::vector<std::string> index_defs(rs::pg::Conn& c) {
    auto r = c.exec("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND tablename = ANY ($1::text[]) ORDER BY indexname",
                    {rs::pg::array(std::vector<std::string>(std::begin(kTables), std::end(kTables)))});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
}

void fill(rs::pg::Conn& c, std::int64_t n) {
    auto t0 = Clock::now();
    Fill f;
    f.n = n;
    f.senders = static_cast<int>(std::max<std::int64_t>(1, n / kPerSender));
    f.sender_of.resize(static_cast<std::size_t>(n));
    f.sig.resize(static_cast<std::size_t>(n) * kSigBytes);
    f.tid.resize(static_cast<std::size_t>(n));
    f.rcpt.resize(static_cast<std::size_t>(n));
    f.org.resize(static_cast<std::size_t>(n));
    std::vector<std::vector<std::int64_t>> by_sender(static_cast<std::size_t>(f.senders));
    {
        Gen g(42);
        for (std::int64_t i = 0; i < n; ++i) {
            auto s = static_cast<std::int32_t>(g.rng() % static_cast<std::uint64_t>(f.senders));
            f.sender_of[static_cast<std::size_t>(i)] = s;
            by_sender[static_cast<std::size_t>(s)].push_back(i);
        }
    }
    // Senders are independent: two threads, each its own half.
    std::vector<Fill::Row> rr[2], orr[2];
    std::vector<std::thread> workers;
    for (int w = 0; w < 2; ++w)
        workers.emplace_back([&, w] {
            for (int s = w; s < f.senders; s += 2) {
                replay_sender(f, s, by_sender[static_cast<std::size_t>(s)], rr[w], orr[w]);
                by_sender[static_cast<std::size_t>(s)] = {};
            }
        });
    for (auto& t : workers) t.join();
    for (int w = 0; w < 2; ++w) {
        f.family_rcpt.insert(f.family_rcpt.end(), rr[w].begin(), rr[w].end());
        f.orgs.insert(f.orgs.end(), orr[w].begin(), orr[w].end());
    }
    // Upserted rows sit where their latest write put them: in time order.
    auto by_last = [](const Fill::Row& a, const Fill::Row& b) { return a.last < b.last; };
    std::stable_sort(f.family_rcpt.begin(), f.family_rcpt.end(), by_last);
    std::stable_sort(f.orgs.begin(), f.orgs.end(), by_last);
    std::fprintf(stderr, "fill: %lld messages of %d senders fingerprinted and their families replayed in %.0f s\n",
                 static_cast<long long>(n), f.senders, since(t0));

    const auto defs = index_defs(c);
    auto pk = c.exec("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                     " WHERE contype = 'p' AND conrelid::regclass::text = ANY ($1::text[])",
                     {rs::pg::array(std::vector<std::string>(std::begin(kTables), std::end(kTables)))});
    auto ix = c.exec("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                     " AND tablename = ANY ($1::text[]) AND indexname NOT IN"
                     " (SELECT conname FROM pg_constraint WHERE contype = 'p')",
                     {rs::pg::array(std::vector<std::string>(std::begin(kTables), std::end(kTables)))});
    auto t1 = Clock::now();
    c.run("BEGIN");
    c.run("TRUNCATE " + table_list()); // with COPY FREEZE: rows written frozen, no later rewrite
    for (int i = 0; i < ix.rows(); ++i) c.run("DROP INDEX " + ix.text(i, 0));
    for (int i = 0; i < pk.rows(); ++i) c.run("ALTER TABLE " + pk.text(i, 0) + " DROP CONSTRAINT " + pk.text(i, 1));

    std::vector<std::string> names(static_cast<std::size_t>(f.senders));
    for (int s = 0; s < f.senders; ++s) names[static_cast<std::size_t>(s)] = sender_name(s);
    {
        Copy msg(c, "COPY history_msg (sender, id, time, sig, tid, keys, rcpts) FROM STDIN WITH (FREEZE)");
        for (std::int64_t i = 0; i < n; ++i) {
            const auto u = static_cast<std::size_t>(i);
            auto& b = msg.buf();
            b += names[static_cast<std::size_t>(f.sender_of[u])];
            b += '\t' + std::to_string(i + 1) + '\t' + std::to_string(time_of(i, n)) + "\t\\\\x";
            append_hex(b, &f.sig[u * kSigBytes], kSigBytes);
            b += '\t' + std::to_string(f.tid[u]) + "\t{";
            auto keys = mh::band_keys(0, mh::decode(&f.sig[u * kSigBytes], kSigBytes));
            for (std::size_t k = 0; k < keys.size(); ++k) b += (k ? "," : "") + std::to_string(keys[k]);
            b += "}\t{" + rcpt_of(f.rcpt[u]) + "}\n";
            msg.maybe_send();
        }
        msg.finish();
    }
    std::fprintf(stderr, "fill: history_msg copied (%.0f s)\n", since(t1));
    {
        Copy band(c, "COPY history_band (sender, key, msg) FROM STDIN WITH (FREEZE)");
        for (std::int64_t i = 0; i < n; ++i) {
            const auto u = static_cast<std::size_t>(i);
            auto keys = mh::band_keys(0, mh::decode(&f.sig[u * kSigBytes], kSigBytes));
            std::sort(keys.begin(), keys.end());
            const std::string tail = '\t' + std::to_string(i + 1) + '\n';
            for (std::size_t k = 0; k < keys.size(); ++k) {
                if (k && keys[k] == keys[k - 1]) continue; // DISTINCT, as history_record()
                auto& b = band.buf();
                b += names[static_cast<std::size_t>(f.sender_of[u])];
                b += '\t' + std::to_string(keys[k]) + tail;
            }
            band.maybe_send();
        }
        band.finish();
    }
    std::fprintf(stderr, "fill: history_band copied (%.0f s)\n", since(t1));
    {
        Copy fr(c, "COPY history_family_rcpt (sender, tid, addr, last) FROM STDIN WITH (FREEZE)");
        for (const auto& r : f.family_rcpt) {
            auto& b = fr.buf();
            b += names[static_cast<std::size_t>(r.sender)];
            b += '\t' + std::to_string(r.tid) + '\t' + rcpt_of(r.key) + '\t' + std::to_string(r.last) + '\n';
            fr.maybe_send();
        }
        fr.finish();
        Copy org(c, "COPY history_org (sender, org, last) FROM STDIN WITH (FREEZE)");
        for (const auto& r : f.orgs) {
            auto& b = org.buf();
            b += names[static_cast<std::size_t>(r.sender)];
            b += '\t' + org_of(r.key) + '\t' + std::to_string(r.last) + '\n';
            org.maybe_send();
        }
        org.finish();
    }
    c.exec("SELECT setval('history_msg_id', $1)", {n});
    std::fprintf(stderr, "fill: all rows copied (%.0f s)\n", since(t1));
    auto t2 = Clock::now();
    for (int i = 0; i < pk.rows(); ++i)
        c.run("ALTER TABLE " + pk.text(i, 0) + " ADD CONSTRAINT " + pk.text(i, 1) + " " + pk.text(i, 2));
    for (int i = 0; i < ix.rows(); ++i) c.run(ix.text(i, 1));
    c.run("COMMIT");
    if (index_defs(c) != defs) throw std::runtime_error("fill: the indexes made again differ from the schema's");
    std::fprintf(stderr, "fill: indexes built (%.0f s)\n", since(t2));
    auto t3 = Clock::now();
    c.run("VACUUM ANALYZE " + table_list());
    std::fprintf(stderr, "fill: VACUUM ANALYZE (%.0f s); fill total %.0f s\n", since(t3), since(t0));
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(static_cast<double>(v.size()) * p))];
}

void line(const char* what, const std::vector<double>& v) {
    std::printf("%-22s p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n", what, pct(v, 0.5), pct(v, 0.9),
                pct(v, 0.99), pct(v, 1.0));
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
        std::int64_t next_id = 0;
        {
            rs::pg::Lease c = pool.acquire();
            rs::migrate(*c);
            // A fill of this size stays in use across runs: the timed
            // checks add and prune about as many messages as each other.
            auto filled = c->exec("SELECT value FROM rapport_settings WHERE name = 'store_history_bench'");
            if (filled.rows() == 1 && filled.text(0, 0) == std::to_string(want)) {
                std::fprintf(stderr, "fill: the history was filled with %lld messages already\n",
                             static_cast<long long>(want));
            } else {
                fill(*c, want);
                c->exec("INSERT INTO rapport_settings (name, value) VALUES ('store_history_bench', $1)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        {std::to_string(want)});
            }
            next_id = c->exec("SELECT last_value FROM history_msg_id").i64(0, 0);
        }
        if (timed > 0) {
            rs::AllowList allow(pool);
            rs::PgHistory h(pool, allow);
            const int senders = static_cast<int>(std::max<std::int64_t>(1, want / kPerSender));
            std::unordered_map<int, Sender> models; // only the senders drawn
            // Letters of their own in each run (a run's records stay in
            // the history: the next run must not find its copies).
            Gen q(7 + static_cast<std::uint64_t>(next_id));
            constexpr int kWarm = 500;
            std::vector<double> look, rec, both, all;
            int found = 0;
            std::int64_t people = 0;
            for (int i = 0; i < kWarm + timed; ++i) {
                const int s = static_cast<int>(q.rng() % static_cast<std::uint64_t>(senders));
                auto it = models.find(s);
                if (it == models.end()) {
                    Gen g(sender_seed(s));
                    it = models.emplace(s, make_sender(s, g)).first;
                }
                rp::SentRecord r;
                r.sender = it->second.name;
                r.time = time_of(next_id + i, want); // continues the timeline
                r.recipients = {"hr@new" + std::to_string(next_id + i) + ".example"};
                r.organisations = {"new" + std::to_string(next_id + i)};
                r.print = letter(it->second, q);
                const std::int64_t horizon = r.time - kWindow;
                auto t0 = Clock::now();
                rp::History::SimilarCount c;
                {
                    rp::History::Snapshot snap(h);
                    auto orgs = h.organisations(r.sender, horizon);
                    c = h.count_similar(r.sender, r.print, horizon, r.time, r.recipients, r.sender);
                    (void)orgs;
                }
                auto t1 = Clock::now();
                h.record(r);
                auto t2 = Clock::now();
                h.prune(horizon);
                auto t3 = Clock::now();
                if (i < kWarm) continue;
                using us = std::chrono::duration<double, std::micro>;
                look.push_back(us(t1 - t0).count());
                rec.push_back(us(t2 - t1).count());
                both.push_back(us(t2 - t0).count());
                all.push_back(us(t3 - t0).count());
                found += c.found;
                people += static_cast<std::int64_t>(c.people);
            }
            std::printf("messages=%lld senders=%d timed=%d found=%d people_avg=%.2f\n", static_cast<long long>(want),
                        senders, timed, found, static_cast<double>(people) / timed);
            line("lookup", look);
            line("record", rec);
            line("lookup+record", both);
            line("lookup+record+prune", all);
        }
        auto sizes = pool.with([](rs::pg::Conn& c) {
            return c.exec("SELECT relname, pg_relation_size(oid), pg_indexes_size(oid), pg_total_relation_size(oid)"
                          " FROM pg_class WHERE relname = ANY ($1::text[]) ORDER BY relname",
                          {rs::pg::array(std::vector<std::string>(std::begin(kTables), std::end(kTables)))});
        });
        std::int64_t total = 0;
        for (int i = 0; i < sizes.rows(); ++i) {
            std::printf("table %-20s heap_mb=%lld indexes_mb=%lld total_mb=%lld\n", sizes.text(i, 0).c_str(),
                        static_cast<long long>(sizes.i64(i, 1) >> 20), static_cast<long long>(sizes.i64(i, 2) >> 20),
                        static_cast<long long>(sizes.i64(i, 3) >> 20));
            total += sizes.i64(i, 3);
        }
        std::printf("tables total_mb=%lld bytes_per_message=%.0f\n", static_cast<long long>(total >> 20),
                    static_cast<double>(total) / static_cast<double>(want));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_history_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
