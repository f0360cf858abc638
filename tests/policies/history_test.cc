// history_test.cc - the template memory: fingerprints and the SQLite
// history (what every history must do is in history_behaviour.h, run here
// on SQLite).

#include "policies/history.h"
#include "policies/minhash.h"
#include "tests/policies/history_behaviour.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <unistd.h>

namespace rapport::policies {
namespace {

using namespace behaviour;

std::string mask_swap(std::string s, const std::string& from, const std::string& to) {
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
}

class TempDb {
public:
    TempDb() {
        path_ = std::filesystem::temp_directory_path() /
                ("rapport-history-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".db");
        cleanup();
    }
    ~TempDb() { cleanup(); }
    std::string path() const { return path_.string(); }

private:
    void cleanup() {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
    std::filesystem::path path_;
    static inline int counter_ = 0;
};

// Each test a file of its own, each open() another connection to it (as
// the daemon's lanes share history.db).
class SqliteStore final : public HistoryStore {
public:
    std::unique_ptr<History> open() override { return std::make_unique<SqliteHistory>(db_.path()); }

private:
    TempDb db_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, HistoryBehaviour,
                         ::testing::Values(StoreMaker{"sqlite", [] { return std::make_unique<SqliteStore>(); }}),
                         HistoryBehaviour::name);

TEST(Fingerprint, IdenticalTextsAreFullySimilar) {
    auto a = fingerprint(words(kLetter));
    auto b = fingerprint(words(kLetter));
    ASSERT_EQ(a.minhash.size(), kSignatureSize);
    EXPECT_DOUBLE_EQ(similarity(a, b), 1.0);
}

TEST(Fingerprint, MaskedNameSwapIsFullySimilar) {
    // The caller masks names; two letters differing only in the masked
    // spot are the same text.
    std::string a = mask_swap(kLetter, "ORG", "<org>");
    std::string b = mask_swap(kLetter, "ORG", "<org>");
    EXPECT_DOUBLE_EQ(similarity(fingerprint(words(a)), fingerprint(words(b))), 1.0);
    // And one sentence edited out of eight still scores high.
    std::string c = mask_swap(a, "four hundred", "five hundred");
    EXPECT_GT(similarity(fingerprint(words(a)), fingerprint(words(c))), 0.7);
}

TEST(Fingerprint, SharedBioOnlyScoresWellBelowHalf) {
    std::string a = std::string(kBio) + kOther;
    double s = similarity(fingerprint(words(kLetter)), fingerprint(words(a)));
    EXPECT_LT(s, 0.35) << s;
}

TEST(Fingerprint, ShortTextsAreEmpty) {
    EXPECT_TRUE(fingerprint({}).empty());
    EXPECT_TRUE(fingerprint({"hello", "there"}).empty());
    EXPECT_FALSE(fingerprint({"hello", "there", "friend"}).empty());
    EXPECT_EQ(similarity(Fingerprint{}, Fingerprint{}), 0.0);
}

TEST(Fingerprint, UnrelatedTextsScoreNearZero) {
    EXPECT_LT(similarity(fingerprint(words(kLetter)), fingerprint(words(kOther))), 0.1);
}








// organisations() keeps the last sender's rows, up to date with this
// connection's writes: asking again, with another `since`, for another
// sender, after a record (written, queued, in a batch), a prune, or
// another connection's commit must give what a fresh read gives.
TEST(History, OrganisationsCacheFollowsEveryChange) {
    TempDb db;
    SqliteHistory a(db.path());
    SqliteHistory b(db.path());
    const std::string ann = "ann@x.org";
    a.record(rec(ann, kT0 - 40 * kDay, {"a@old.com"}, {}, {"old"}));
    a.record(rec(ann, kT0, {"a@acme.com"}, {}, {"acme"}));
    a.record(rec("bob@x.org", kT0, {"a@bobs.com"}, {}, {"bobs"}));
    using V = std::vector<std::string>;
    {
        History::Snapshot s(a);
        EXPECT_EQ(a.organisations(ann, 0), (V{"acme", "old"}));
        EXPECT_EQ(a.organisations(ann, kT0 - 30 * kDay), V{"acme"}); // same rows, later `since`
        EXPECT_EQ(a.organisations(ann, kT0 + 1), V{});
        EXPECT_EQ(a.organisations("bob@x.org", 0), V{"bobs"});
        EXPECT_EQ(a.organisations(ann, 0), (V{"acme", "old"}));
        EXPECT_EQ(a.organisations("nobody@x.org", 0), V{});
    }
    a.record(rec(ann, kT0 + 1, {"a@beta.com"}, {}, {"beta"}));
    EXPECT_EQ(a.organisations(ann, 0), (V{"acme", "beta", "old"}));
    b.record(rec(ann, kT0 + 2, {"a@gamma.com"}, {}, {"gamma", "acme"})); // another connection
    EXPECT_EQ(a.organisations(ann, kT0 + 2), (V{"acme", "gamma"}));
    a.prune(kT0 - 30 * kDay);
    EXPECT_EQ(a.organisations(ann, 0), (V{"acme", "beta", "gamma"}));
    a.set_write_behind(4);
    a.record(rec(ann, kT0 + 3, {"a@delta.com"}, {}, {"delta"})); // queued
    EXPECT_EQ(a.organisations(ann, kT0 + 3), (V{"delta"}));
    EXPECT_EQ(b.organisations(ann, kT0 + 3), V{}); // not written yet
    a.flush();
    EXPECT_EQ(a.organisations(ann, kT0 + 3), (V{"delta"}));
    EXPECT_EQ(b.organisations(ann, 0), (V{"acme", "beta", "delta", "gamma"}));
    // A later time for a kept organisation, and a batch.
    a.set_write_behind(0);
    a.record(rec(ann, kT0 + 4, {"b@beta.com"}, {}, {"beta"}));
    EXPECT_EQ(a.organisations(ann, kT0 + 4), V{"beta"});
    a.begin_batch();
    a.record(rec(ann, kT0 + 5, {"a@eps.com"}, {}, {"eps"}));
    EXPECT_EQ(a.organisations(ann, kT0 + 5), V{"eps"});
    a.record(rec(ann, kT0 + 6, {"a@zeta.com"}, {}, {"zeta"}));
    a.end_batch();
    EXPECT_EQ(a.organisations(ann, kT0 + 5), (V{"eps", "zeta"}));
    EXPECT_EQ(b.organisations(ann, kT0 + 4), (V{"beta", "eps", "zeta"}));
    // The other connection's kept rows are not fooled by this one's writes.
    a.record(rec(ann, kT0 + 7, {"a@eta.com"}, {}, {"eta"}));
    EXPECT_EQ(b.organisations(ann, kT0 + 7), V{"eta"});
    b.prune(kT0 + 5);
    EXPECT_EQ(a.organisations(ann, 0), (V{"eps", "eta", "zeta"}));
    EXPECT_EQ(b.organisations(ann, 0), (V{"eps", "eta", "zeta"}));
}


// allowed() keeps the allow list in memory: what this connection adds is
// seen at once, another connection's addition once it commits (after this
// one's open Snapshot, as a query would see it), a batch's after it.
TEST(History, AllowListKeptFollowsEveryChange) {
    TempDb db;
    SqliteHistory a(db.path());
    SqliteHistory b(db.path());
    EXPECT_FALSE(a.allowed("address", "x@y.com"));
    a.allow("address", "X@y.com");
    EXPECT_TRUE(a.allowed("address", "x@Y.com"));
    EXPECT_FALSE(a.allowed("domain", "x@y.com")); // the type counts
    EXPECT_TRUE(b.allowed("address", "x@y.com"));
    {
        History::Snapshot s(a);
        EXPECT_FALSE(a.allowed("domain", "acme.com"));
        b.allow("domain", "acme.com");
        EXPECT_FALSE(a.allowed("domain", "acme.com")); // a's read transaction predates it
    }
    EXPECT_TRUE(a.allowed("domain", "acme.com"));
    b.begin_batch();
    b.allow("domain", "beta.com");
    EXPECT_TRUE(b.allowed("domain", "beta.com"));
    b.end_batch();
    EXPECT_TRUE(b.allowed("domain", "beta.com"));
    EXPECT_TRUE(a.allowed("domain", "beta.com"));
    EXPECT_FALSE(a.allowed("domain", "gamma.com"));
    EXPECT_EQ(a.allow_list().size(), 3u);
}


TEST(History, PersistsAcrossReopen) {
    TempDb db;
    auto fp = fingerprint(words(kLetter));
    {
        SqliteHistory h(db.path());
        h.record(rec("ann@x.org", kT0, {"a@one.com"}, fp, {"one"}));
    }
    {
        SqliteHistory h(db.path());
        auto r = h.find_similar("ann@x.org", fp, kT0 - kDay, kT0 + kDay);
        EXPECT_EQ(r.messages, 1);
        EXPECT_EQ(r.recipients, std::vector<std::string>{"a@one.com"});
        EXPECT_EQ(h.organisations("ann@x.org", 0), std::vector<std::string>{"one"});
    }
}

TEST(History, BatchCommitsAndPersists) {
    TempDb db;
    auto fp = fingerprint(words(kLetter));
    {
        SqliteHistory h(db.path());
        h.begin_batch();
        for (int i = 0; i < 10; ++i) h.record(rec("ann@x.org", kT0 + i, {std::string("r") + std::to_string(i) + "@x.com"}, fp));
        h.end_batch();
    }
    SqliteHistory h(db.path());
    EXPECT_EQ(h.find_similar("ann@x.org", fp, kT0, kT0 + 100).messages, 10);
}


// --- Template families: each message joins the family of its best verified
// match at record time; a lookup counts whole families.






// count_similar() (family_rcpt, counted in SQL) against the answer built
// from find_similar() as template-reuse used to build it, at every step of
// a long random sequence: growing families, several families matching at
// once, recipients re-sent to, the sender's own address among them, send
// times out of order (a recipient's latest message after the window's
// end), windows of different lengths, pruning, and write-behind.
TEST(History, CountSimilarAgreesWithFindSimilar) {
    TempDb da, db;
    SqliteHistory written(da.path());
    SqliteHistory queued(db.path());
    queued.set_write_behind(5);
    std::mt19937 rng(17);
    std::vector<std::string> pool;
    for (int i = 0; i < 30; ++i) {
        std::string s;
        for (int k = 0; k < 12; ++k) s += "w" + std::to_string(rng() % 3000) + " ";
        pool.push_back(s + ". ");
    }
    const std::vector<std::string> senders = {"ann@x.org", "bob@y.org"};
    std::vector<std::vector<std::string>> templates(4);
    for (auto& t : templates)
        for (int k = 0; k < 6; ++k) t.push_back(pool[rng() % pool.size()]);
    auto reference = [](const History& h, const std::string& sender, const Fingerprint& fp, std::int64_t since,
                        std::int64_t until, const std::vector<std::string>& also, const std::string& except) {
        auto s = h.find_similar(sender, fp, since, until);
        std::set<std::string> people(s.recipients.begin(), s.recipients.end());
        people.insert(also.begin(), also.end());
        people.erase(except);
        return std::make_pair(s.messages > 0, people.size());
    };
    std::int64_t t = kT0;
    int fired = 0;
    for (int step = 0; step < 600; ++step) {
        t += 600 + rng() % 7200;
        const std::string& sender = senders[rng() % senders.size()];
        std::string letter;
        if (rng() % 10 < 8) {
            auto& tmpl = templates[rng() % templates.size()];
            for (std::size_t k = 0; k < tmpl.size(); ++k)
                letter += (rng() % 10 == 0) ? pool[rng() % pool.size()] : tmpl[k];
        } else {
            for (int k = 0; k < 6; ++k) letter += pool[rng() % pool.size()];
        }
        auto fp = fingerprint(words(letter));
        std::vector<std::string> to;
        for (std::size_t n = 1 + rng() % 3; n > 0; --n)
            to.push_back("r" + std::to_string(rng() % 40) + "@firm" + std::to_string(rng() % 5) + ".com");
        // The sender's address as "except": sometimes one it wrote to.
        std::string except = rng() % 4 == 0 ? "r" + std::to_string(rng() % 40) + "@firm1.com" : sender;
        const std::int64_t since = t - (5 + static_cast<std::int64_t>(rng() % 26)) * kDay;
        for (History* h : {&written, &queued}) {
            auto want = reference(*h, sender, fp, since, t, to, except);
            auto got = h->count_similar(sender, fp, since, t, to, except);
            ASSERT_EQ(got.found, want.first) << "step " << step;
            if (got.found) {
                ASSERT_EQ(got.people, want.second) << "step " << step;
            }
            fired += got.found && got.people >= 5;
        }
        // Now and then a message dated ahead (its recipients' latest time
        // is then after later windows' ends) or far behind.
        std::int64_t when = t;
        if (rng() % 15 == 0) when = t + (1 + rng() % 3) * kDay;
        if (rng() % 15 == 0) when = t - (1 + rng() % 40) * kDay;
        std::vector<std::string> orgs = {"firm" + std::to_string(rng() % 60), "org" + std::to_string(rng() % 9)};
        written.record(rec(sender, when, to, fp, orgs));
        queued.record(rec(sender, when, to, fp, orgs));
        if (step % 29 == 0) {
            written.prune(t - 20 * kDay);
            queued.prune(t - 20 * kDay);
        }
        // The organisations kept across writes, against a fresh read.
        if (step % 10 == 0) {
            SqliteHistory fresh(da.path());
            for (const auto& s : senders) {
                ASSERT_EQ(written.organisations(s, since), fresh.organisations(s, since)) << "step " << step;
                ASSERT_EQ(queued.organisations(s, since), fresh.organisations(s, since)) << "step " << step;
            }
        }
    }
    EXPECT_GT(fired, 100); // the rule's threshold is reached, often
    // Written out, and read by a fresh connection, the same.
    queued.flush();
    SqliteHistory reader(db.path());
    for (const auto& tmpl : templates) {
        std::string letter;
        for (auto& s : tmpl) letter += s;
        auto fp = fingerprint(words(letter));
        for (const auto& sender : senders) {
            auto want = reference(written, sender, fp, t - 30 * kDay, t, {"new@one.com"}, sender);
            auto got = reader.count_similar(sender, fp, t - 30 * kDay, t, {"new@one.com"}, sender);
            EXPECT_EQ(got.found, want.first);
            if (got.found) {
                EXPECT_EQ(got.people, want.second);
            }
        }
    }
}

// Write-behind must not change what this connection sees: the same
// sequence of lookups, records and prunes against a written history and a
// queued one (flushed every 5) gives the same answers at every step, with
// template families, bio-sharing letters that fill the band buckets past
// their limit, and pruning of queued records.
TEST(History, WriteBehindSeesWhatWritingSees) {
    TempDb da, db;
    SqliteHistory written(da.path());
    SqliteHistory queued(db.path());
    queued.set_write_behind(5);
    std::mt19937 rng(5);
    std::vector<std::string> pool;
    for (int i = 0; i < 40; ++i) {
        std::string s;
        for (int k = 0; k < 12; ++k) s += "w" + std::to_string(rng() % 3000) + " ";
        pool.push_back(s + ". ");
    }
    const std::vector<std::string> senders = {"ann@x.org", "bob@y.org", "cy@z.org"};
    std::vector<std::vector<std::string>> templates(6);
    for (auto& t : templates)
        for (int k = 0; k < 6; ++k) t.push_back(pool[rng() % pool.size()]);
    std::int64_t t = kT0;
    for (int step = 0; step < 700; ++step) {
        t += 600 + rng() % 3600;
        const std::string& sender = senders[rng() % senders.size()];
        std::string letter = pool[0] + pool[1]; // a shared bio: large buckets
        if (rng() % 10 < 6) {
            auto& tmpl = templates[rng() % templates.size()];
            for (std::size_t k = 0; k < tmpl.size(); ++k)
                letter += (rng() % 8 == 0) ? pool[rng() % pool.size()] : tmpl[k];
        } else {
            for (int k = 0; k < 6; ++k) letter += pool[rng() % pool.size()];
        }
        auto fp = fingerprint(words(letter));
        auto a = written.find_similar(sender, fp, t - 30 * kDay, t);
        auto b = queued.find_similar(sender, fp, t - 30 * kDay, t);
        ASSERT_EQ(a.messages, b.messages) << "step " << step;
        ASSERT_EQ(a.recipients, b.recipients) << "step " << step;
        ASSERT_EQ(written.organisations(sender, t - 20 * kDay), queued.organisations(sender, t - 20 * kDay))
            << "step " << step;
        std::vector<std::string> to = {"r" + std::to_string(rng() % 50) + "@firm" + std::to_string(rng() % 9) + ".com"};
        std::vector<std::string> orgs = {"firm" + std::to_string(rng() % 30)};
        Fingerprint none;
        const Fingerprint& print = step % 17 == 0 ? none : fp; // some without a signature
        written.record(rec(sender, t, to, print, orgs));
        queued.record(rec(sender, t, to, print, orgs));
        if (step % 23 == 0) {
            written.prune(t - 10 * kDay);
            queued.prune(t - 10 * kDay);
        }
    }
    // Written out, the queued history answers a fresh connection the same.
    queued.flush();
    SqliteHistory reader(db.path());
    for (const auto& tmpl : templates) {
        std::string letter = pool[0] + pool[1];
        for (auto& s : tmpl) letter += s;
        auto fp = fingerprint(words(letter));
        for (const auto& sender : senders) {
            auto a = written.find_similar(sender, fp, t - 30 * kDay, t);
            auto b = reader.find_similar(sender, fp, t - 30 * kDay, t);
            EXPECT_EQ(a.messages, b.messages);
            EXPECT_EQ(a.recipients, b.recipients);
            EXPECT_EQ(written.organisations(sender, 0), reader.organisations(sender, 0));
        }
    }
}

// Queued records: seen at once by their own connection, by others after
// flush() or when the History is destroyed (rapportctl's exit).
TEST(History, WriteBehindFlushesOnRequestAndOnDestruction) {
    TempDb db;
    auto fp = fingerprint(words(kLetter));
    SqliteHistory other(db.path());
    {
        SqliteHistory h(db.path());
        h.set_write_behind(10);
        h.record(rec("ann@x.org", kT0, {"one@a.com"}, fp, {"a"}));
        EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 1);
        EXPECT_EQ(h.organisations("ann@x.org", 0), std::vector<std::string>{"a"});
        EXPECT_EQ(other.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 0);
        h.flush();
        EXPECT_EQ(other.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 1);
        h.record(rec("ann@x.org", kT0 + 1, {"two@b.com"}, fp, {"b"}));
        EXPECT_EQ(other.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 1);
    }
    auto r = other.find_similar("ann@x.org", fp, 0, kT0 + 1);
    EXPECT_EQ(r.messages, 2);
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"one@a.com", "two@b.com"}));
    EXPECT_EQ(other.organisations("ann@x.org", 0), (std::vector<std::string>{"a", "b"}));
}



// The checker fingerprints word hashes (no copies of the masked words):
// the same signature as from the words.
TEST(History, FingerprintOfHashesEqualsFingerprintOfWords) {
    for (const char* text : {kLetter, kOther, kBio, "too short"}) {
        auto w = words(text);
        std::vector<std::uint64_t> h;
        for (const auto& x : w) h.push_back(minhash::word_hash(x));
        EXPECT_EQ(minhash::fingerprint_of_hashes(h).minhash, fingerprint(w).minhash);
    }
}

TEST(History, MigratesSchemaOne) {
    TempDb db;
    auto fp = fingerprint(words(kLetter));
    {
        // A version-1 database as the first release wrote it.
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        const char* v1 = R"sql(
            CREATE TABLE sender(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE msg(id INTEGER PRIMARY KEY, sender INTEGER NOT NULL, time INTEGER NOT NULL, sig BLOB);
            CREATE INDEX msg_sender_time ON msg(sender, time);
            CREATE INDEX msg_time ON msg(time);
            CREATE TABLE rcpt(msg INTEGER NOT NULL, addr TEXT NOT NULL, PRIMARY KEY(msg, addr)) WITHOUT ROWID;
            CREATE TABLE org(msg INTEGER NOT NULL, org TEXT NOT NULL, PRIMARY KEY(msg, org)) WITHOUT ROWID;
            CREATE TABLE band(key INTEGER NOT NULL, msg INTEGER NOT NULL, PRIMARY KEY(key, msg)) WITHOUT ROWID;
            INSERT INTO sender VALUES (1, 'ann@x.org');
            INSERT INTO band VALUES (12345, 1);
            PRAGMA user_version=1;
        )sql";
        ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK);
        std::string sig;
        for (auto v : fp.minhash) {
            sig.push_back(static_cast<char>(v & 0xff));
            sig.push_back(static_cast<char>(v >> 8));
        }
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(raw, "INSERT INTO msg VALUES (?1, 1, ?2, ?3)", -1, &st, nullptr), SQLITE_OK);
        for (int i = 1; i <= 2; ++i) {
            sqlite3_bind_int(st, 1, i);
            sqlite3_bind_int64(st, 2, kT0 + i);
            sqlite3_bind_blob(st, 3, sig.data(), static_cast<int>(sig.size()), SQLITE_TRANSIENT);
            ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        sqlite3_exec(raw, "INSERT INTO rcpt VALUES (1, 'a@one.com'), (2, 'b@two.com'); INSERT INTO org VALUES (1, 'one');",
                     nullptr, nullptr, nullptr);
        sqlite3_close(raw);
    }
    SqliteHistory h(db.path());
    auto r = h.find_similar("ann@x.org", fp, kT0, kT0 + 10);
    EXPECT_EQ(r.messages, 2);
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"a@one.com", "b@two.com"}));
    EXPECT_EQ(h.organisations("ann@x.org", 0), std::vector<std::string>{"one"});
    h.record(rec("ann@x.org", kT0 + 3, {"c@three.com"}, fp));
    EXPECT_EQ(h.find_similar("ann@x.org", fp, kT0, kT0 + 10).messages, 3);
    auto c = h.count_similar("ann@x.org", fp, kT0, kT0 + 10, {"d@four.com"}, "ann@x.org");
    EXPECT_TRUE(c.found);
    EXPECT_EQ(c.people, 4u);
}

// Schema 3 had no family_rcpt and band keys without the sender: on open
// the one is filled from msg and rcpt, the other rebuilt from signatures.
TEST(History, MigratesSchemaThree) {
    TempDb db;
    auto fp = fingerprint(words(kLetter));
    auto other = fingerprint(words(kOther));
    {
        SqliteHistory h(db.path());
        h.record(rec("ann@x.org", kT0 - 40 * kDay, {"old@one.com"}, fp));
        h.record(rec("ann@x.org", kT0, {"a@one.com", "b@two.com"}, fp));
        h.record(rec("ann@x.org", kT0 + 1, {"a@one.com"}, fp));
        h.record(rec("ann@x.org", kT0 + 2, {"c@three.com"}, other));
        h.record(rec("bob@y.org", kT0 + 3, {"z@nine.com"}, fp));
    }
    {
        // What version 3 left: the same tables without family_rcpt.
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        // Band keys of another shape (version 3's had no sender id above
        // the hash): rebuilt from the signatures on open.
        ASSERT_EQ(sqlite3_exec(raw,
                               "DROP TABLE family_rcpt; UPDATE band SET key = key & 4294967295; "
                               "PRAGMA user_version=3;",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(raw);
    }
    SqliteHistory h(db.path());
    auto c = h.count_similar("ann@x.org", fp, kT0 - kDay, kT0 + 10, {"new@four.com", "a@one.com"}, "ann@x.org");
    EXPECT_TRUE(c.found);
    EXPECT_EQ(c.people, 3u); // a, b, new - not old (outside the window), not c (another text)
    c = h.count_similar("ann@x.org", fp, kT0 - 50 * kDay, kT0 + 10, {}, "a@one.com");
    EXPECT_EQ(c.people, 2u); // old, b
    EXPECT_EQ(h.count_similar("bob@y.org", fp, kT0, kT0 + 10, {}, "").people, 1u);
    EXPECT_EQ(h.find_similar("ann@x.org", other, 0, kT0 + 10).recipients, std::vector<std::string>{"c@three.com"});
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
        EXPECT_EQ(sqlite3_column_int(st, 0), 6);
        sqlite3_finalize(st);
        ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*), count(DISTINCT key >> 32) FROM band", -1, &st, nullptr),
                  SQLITE_OK);
        ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
        EXPECT_EQ(sqlite3_column_int(st, 0), 50); // 5 signed messages x 10 bands
        EXPECT_EQ(sqlite3_column_int(st, 1), 2);  // two senders
        sqlite3_finalize(st);
        sqlite3_close(raw);
    }
}

// Schema 5 kept a row per sender and organisation (sender_org): on open
// they move into sender_orgs, a few rows per sender, times kept.
TEST(History, MigratesSchemaFive) {
    TempDb db;
    {
        SqliteHistory h(db.path());
        h.record(rec("ann@x.org", kT0 - 40 * kDay, {"a@one.com"}, {}));
        h.record(rec("ann@x.org", kT0, {"a@one.com"}, {}));
    }
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
        std::string sql =
            "DROP TABLE sender_orgs; "
            "CREATE TABLE sender_org(sender INTEGER NOT NULL, org TEXT NOT NULL, last INTEGER NOT NULL, "
            "PRIMARY KEY(sender, org)) WITHOUT ROWID; CREATE INDEX sender_org_last ON sender_org(last); "
            "INSERT INTO sender VALUES (2, 'bob@y.org'); ";
        // 300 organisations for ann (three rows' worth), every tenth older.
        for (int i = 0; i < 300; ++i)
            sql += "INSERT INTO sender_org VALUES (1, 'org" + std::to_string(1000 + i) + "', " +
                   std::to_string(i % 10 == 0 ? kT0 - 40 * kDay : kT0 + i) + "); ";
        sql += "INSERT INTO sender_org VALUES (2, 'zed', " + std::to_string(kT0) + "); PRAGMA user_version=5;";
        ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
    }
    SqliteHistory h(db.path());
    EXPECT_EQ(h.organisations("ann@x.org", 0).size(), 300u);
    EXPECT_EQ(h.organisations("ann@x.org", kT0 - 30 * kDay).size(), 270u);
    EXPECT_EQ(h.organisations("bob@y.org", 0), std::vector<std::string>{"zed"});
    h.prune(kT0 - 30 * kDay);
    EXPECT_EQ(h.organisations("ann@x.org", 0).size(), 270u);
    h.record(rec("ann@x.org", kT0 + 500, {"a@new.com"}, {}, {"org1001", "neworg"}));
    auto all = h.organisations("ann@x.org", kT0 + 400);
    EXPECT_EQ(all, (std::vector<std::string>{"neworg", "org1001"}));
}

// A sender who wrote to more organisations than one row holds: every one
// is kept, with its latest time, across rows, through prune and reopen.
TEST(History, ManyOrganisationsKeptAcrossRows) {
    TempDb db;
    {
        SqliteHistory h(db.path());
        for (int i = 0; i < 400; ++i)
            h.record(rec("ann@x.org", kT0 + i, {"a@x" + std::to_string(i) + ".com"}, {},
                         {"org" + std::to_string(i), "org" + std::to_string(i / 2)}));
        h.prune(kT0 + 100);
    }
    SqliteHistory h(db.path());
    auto kept = h.organisations("ann@x.org", 0);
    // org0..org399 written at kT0 + i, org(i/2) again at kT0 + i: org50..399 remain.
    EXPECT_EQ(kept.size(), 350u);
    // Since kT0 + 300: org300..399, and org150..199 written again as halves.
    EXPECT_EQ(h.organisations("ann@x.org", kT0 + 300).size(), 150u);
}

TEST(History, UnopenablePathThrows) {
    EXPECT_THROW(SqliteHistory("/nonexistent-dir/for/sure/history.db"), std::runtime_error);
}

} // namespace
} // namespace rapport::policies
