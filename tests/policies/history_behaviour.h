// history_behaviour.h - what every History must do, whatever keeps it:
// the same tests run on SQLite (history_test.cc) and on PostgreSQL
// (tests/store/store_test.cc), so that the two implementations cannot
// drift apart.
//
// A suite instantiates HistoryBehaviour with a HistoryStore maker: each
// test gets a new, empty store, and each open() is another connection to
// it (another lane of one rapportd, or another rapportd).
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, HistoryBehaviour, ::testing::Values(StoreMaker{"sqlite", make_sqlite}),
//                            HistoryBehaviour::name);

#pragma once

#include "policies/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace rapport::policies::behaviour {

// One empty store for one test.
class HistoryStore {
public:
    virtual ~HistoryStore() = default;
    virtual std::unique_ptr<History> open() = 0;
};

struct StoreMaker {
    std::string name; // the test name's suffix
    std::function<std::unique_ptr<HistoryStore>()> make;
};
inline void PrintTo(const StoreMaker& m, std::ostream* os) { *os << m.name; }

class HistoryBehaviour : public ::testing::TestWithParam<StoreMaker> {
protected:
    void SetUp() override { store_ = GetParam().make(); }
    void TearDown() override { store_.reset(); }
    std::unique_ptr<History> open() { return store_->open(); }

public:
    static std::string name(const ::testing::TestParamInfo<StoreMaker>& info) { return info.param.name; }

private:
    std::unique_ptr<HistoryStore> store_;
};

inline std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// Eight sentences of a cover letter; names already masked by the caller.
inline const char* const kLetter =
    "i am writing to apply for the position of warehouse operative at ORG . "
    "i have three years of experience in busy distribution centres and hold a forklift licence . "
    "in my last role i picked and packed over four hundred orders a day with an accuracy above ninety nine percent . "
    "i am reliable , punctual and happy to work early shifts , weekends and overtime when needed . "
    "i enjoy working in a team and i have trained new starters on safety procedures and stock rotation . "
    "i live close to your site and can start immediately after a short notice period . "
    "i would welcome the chance to discuss how i could help your team meet its targets . "
    "thank you for considering my application and i look forward to hearing from you soon . ";

// A different letter from the same person sharing only its two-sentence bio.
inline const char* const kBio =
    "i have three years of experience in busy distribution centres and hold a forklift licence . "
    "i am reliable , punctual and happy to work early shifts , weekends and overtime when needed . ";
inline const char* const kOther =
    "i saw your advert for a delivery driver on the council jobs board last friday afternoon . "
    "my clean driving licence and knowledge of the local roads would let me plan efficient routes . "
    "customers have often praised my friendly manner on the doorstep and my care with fragile parcels . "
    "i keep accurate records of each drop using handheld scanners and paper manifests alike . "
    "your company's commitment to electric vans is something i would be proud to be part of . "
    "could we arrange a short call next week so that i can learn more about the route structure ? ";

inline SentRecord rec(const std::string& sender, std::int64_t t, std::vector<std::string> to, const Fingerprint& fp,
                      std::vector<std::string> orgs = {}) {
    SentRecord r;
    r.sender = sender;
    r.time = t;
    r.recipients = std::move(to);
    r.organisations = std::move(orgs);
    r.print = fp;
    return r;
}

inline constexpr std::int64_t kDay = 86400;
inline constexpr std::int64_t kT0 = 1'700'000'000;

// kLetter with its sentence number `i` (0-based) replaced by `repl`.
inline std::string edit_sentence(const std::string& text, int i, const std::string& repl) {
    std::size_t b = 0;
    for (int k = 0; k < i; ++k) b = text.find(" . ", b) + 3;
    std::size_t e = text.find(" . ", b) + 3;
    return text.substr(0, b) + repl + " . " + text.substr(e);
}

// Random texts with a controlled share of common shingles: the banding must
// find pairs at Jaccard >= 0.5 practically always (>= 99% designed).
TEST_P(HistoryBehaviour, FindsHalfSimilarPairsReliably) {
    std::mt19937 rng(7);
    auto word = [&] { return std::string("w") + std::to_string(rng() % 1000000); };
    auto h_owner = open();
    History& h = *h_owner;
    int found = 0;
    const int trials = 300;
    for (int t = 0; t < trials; ++t) {
        // 200 shared words, 99 own words each: Jaccard of 3-shingles ~0.5.
        std::vector<std::string> common, a, b;
        for (int i = 0; i < 200; ++i) common.push_back(word());
        a = common;
        b = common;
        for (int i = 0; i < 99; ++i) a.push_back(word());
        for (int i = 0; i < 99; ++i) b.push_back(word());
        std::string sender = std::string("s") + std::to_string(t) + "@x.org";
        h.record(rec(sender, kT0, {"a@firm.com"}, fingerprint(a)));
        found += h.find_similar(sender, fingerprint(b), kT0 - kDay, kT0 + kDay, 0.0).messages;
    }
    EXPECT_GE(found, trials * 97 / 100) << found << " of " << trials;
}

TEST_P(HistoryBehaviour, IdenticalTextsMatch) {
    auto h_owner = open();
    History& h = *h_owner;
    auto fp = fingerprint(words(kLetter));
    h.record(rec("ann@x.org", kT0, {"Boss@Firm.com"}, fp));
    auto r = h.find_similar("ann@x.org", fp, kT0 - 30 * kDay, kT0 + 1);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"boss@firm.com"});
}

TEST_P(HistoryBehaviour, SharedBioOnlyDoesNotMatch) {
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0, {"a@one.com"}, fingerprint(words(kLetter))));
    auto r = h.find_similar("ann@x.org", fingerprint(words(std::string(kBio) + kOther)), kT0 - kDay, kT0 + kDay);
    EXPECT_EQ(r.messages, 0);
    EXPECT_TRUE(r.recipients.empty());
}

TEST_P(HistoryBehaviour, WindowIsRespected) {
    auto h_owner = open();
    History& h = *h_owner;
    auto fp = fingerprint(words(kLetter));
    h.record(rec("ann@x.org", kT0 - 40 * kDay, {"old@one.com"}, fp));
    h.record(rec("ann@x.org", kT0 - 10 * kDay, {"mid@two.com"}, fp));
    h.record(rec("ann@x.org", kT0 + 5 * kDay, {"later@three.com"}, fp));
    auto r = h.find_similar("ann@x.org", fp, kT0 - 30 * kDay, kT0);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"mid@two.com"});
    // Bounds are inclusive.
    r = h.find_similar("ann@x.org", fp, kT0 - 40 * kDay, kT0 + 5 * kDay);
    EXPECT_EQ(r.messages, 3);
}

TEST_P(HistoryBehaviour, DistinctRecipientsAreDeduplicated) {
    auto h_owner = open();
    History& h = *h_owner;
    auto fp = fingerprint(words(kLetter));
    h.record(rec("ann@x.org", kT0, {"a@one.com", "b@two.com"}, fp));
    h.record(rec("ann@x.org", kT0 + 1, {"A@One.com"}, fp));
    h.record(rec("ann@x.org", kT0 + 2, {"c@three.com", "b@two.com", "B@TWO.COM"}, fp));
    auto r = h.find_similar("ann@x.org", fp, kT0, kT0 + 10);
    EXPECT_EQ(r.messages, 3);
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"a@one.com", "b@two.com", "c@three.com"}));
}

TEST_P(HistoryBehaviour, SendersAreIsolated) {
    auto h_owner = open();
    History& h = *h_owner;
    auto fp = fingerprint(words(kLetter));
    h.record(rec("ann@x.org", kT0, {"a@one.com"}, fp, {"one"}));
    EXPECT_EQ(h.find_similar("bob@x.org", fp, kT0 - kDay, kT0 + kDay).messages, 0);
    EXPECT_TRUE(h.organisations("bob@x.org", 0).empty());
    h.record(rec("bob@x.org", kT0, {"z@zed.com"}, fp, {"zed"}));
    auto r = h.find_similar("bob@x.org", fp, kT0 - kDay, kT0 + kDay);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"z@zed.com"});
    EXPECT_EQ(h.organisations("ann@x.org", 0), std::vector<std::string>{"one"});
}

TEST_P(HistoryBehaviour, OrganisationsSinceTime) {
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0 - 50 * kDay, {"a@old.com"}, {}, {"old"}));
    h.record(rec("ann@x.org", kT0, {"a@acme.com", "b@beta.com"}, {}, {"acme", "beta"}));
    h.record(rec("ann@x.org", kT0 + 1, {"c@acme.com"}, {}, {"acme"}));
    EXPECT_EQ(h.organisations("ann@x.org", kT0 - 30 * kDay), (std::vector<std::string>{"acme", "beta"}));
    EXPECT_EQ(h.organisations("ann@x.org", 0), (std::vector<std::string>{"acme", "beta", "old"}));
}

// Organisation keys are read back from one joined value: any character,
// separators and digits included, comes back as written.
TEST_P(HistoryBehaviour, OrganisationKeysOfAnyShape) {
    const std::vector<std::string> odd = {"a:b;c", "12", "3:x", ";", ":", "\xc3\xa9" "cole", "x y", "-5", "9;9:9"};
    {
        auto h_owner = open();
        History& h = *h_owner;
        h.record(rec("ann@x.org", kT0, {"a@b.com"}, {}, odd));
        h.record(rec("ann@x.org", -kT0, {"a@c.com"}, {}, {"negative"}));
    }
    auto h_owner = open();
    History& h = *h_owner;
    std::vector<std::string> want = odd;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(h.organisations("ann@x.org", kT0), want);
    want.push_back("negative");
    std::sort(want.begin(), want.end());
    EXPECT_EQ(h.organisations("ann@x.org", -2 * kT0), want);
    EXPECT_EQ(h.organisations("nobody@x.org", 0), std::vector<std::string>{});
}

TEST_P(HistoryBehaviour, EmptyFingerprintMatchesNothing) {
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0, {"a@one.com"}, Fingerprint{}));
    h.record(rec("ann@x.org", kT0, {"b@two.com"}, fingerprint(words(kLetter))));
    EXPECT_EQ(h.find_similar("ann@x.org", Fingerprint{}, 0, kT0 + kDay, 0.0).messages, 0);
    auto r = h.find_similar("ann@x.org", fingerprint(words(kLetter)), 0, kT0 + kDay, 0.0);
    EXPECT_EQ(r.messages, 1); // the empty one is never a candidate
    EXPECT_EQ(r.recipients, std::vector<std::string>{"b@two.com"});
}

TEST_P(HistoryBehaviour, PruneForgetsOlderMessages) {
    auto fp = fingerprint(words(kLetter));
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0 - 40 * kDay, {"old@one.com"}, fp, {"one"}));
    h.record(rec("ann@x.org", kT0 - 1 * kDay, {"new@two.com"}, fp, {"two"}));
    h.prune(kT0 - 30 * kDay);
    auto r = h.find_similar("ann@x.org", fp, 0, kT0);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"new@two.com"});
    EXPECT_EQ(h.organisations("ann@x.org", 0), std::vector<std::string>{"two"});
    h.prune(kT0);
    EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0).messages, 0);
    EXPECT_TRUE(h.organisations("ann@x.org", 0).empty());
    // Recording again after pruning works and finds only the new message.
    h.record(rec("ann@x.org", kT0 + 1, {"x@three.com"}, fp));
    EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0 + 2).recipients, std::vector<std::string>{"x@three.com"});
}

TEST_P(HistoryBehaviour, FamiliesFollowChainsOfNearCopies) {
    // Each letter is the one before with one more sentence rewritten: each
    // is a near-copy of its predecessor, the last is not one of the first,
    // and yet all are one family - a copy of the last counts them all.
    const char* const edits[] = {
        "last year i led a small team of pickers on the night shift",
        "i kept the loading bay tidy and reported every near miss to my supervisor",
        "my commute to your depot is ten minutes by bicycle",
        "i am also a trained first aider and a volunteer fire marshal",
    };
    std::vector<std::string> texts{kLetter};
    for (int i = 0; i < 4; ++i) texts.push_back(edit_sentence(texts.back(), 1 + 2 * i, edits[i]));
    for (std::size_t i = 1; i < texts.size(); ++i)
        ASSERT_GE(similarity(fingerprint(words(texts[i - 1])), fingerprint(words(texts[i]))), 0.65) << i;
    ASSERT_LT(similarity(fingerprint(words(texts.front())), fingerprint(words(texts.back()))), 0.5);
    auto h_owner = open();
    History& h = *h_owner;
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::string to = std::string("r") + std::to_string(i) + "@firm.com";
        expected.push_back(to);
        h.record(rec("ann@x.org", kT0 + static_cast<std::int64_t>(i), {to}, fingerprint(words(texts[i]))));
    }
    auto r = h.find_similar("ann@x.org", fingerprint(words(texts.back())), kT0 - kDay, kT0 + kDay);
    EXPECT_EQ(r.messages, 5);
    EXPECT_EQ(r.recipients, expected);
    // An unrelated letter of the same sender (sharing the bio only) starts
    // its own family and matches none of them.
    std::string other = std::string(kBio) + kOther;
    h.record(rec("ann@x.org", kT0 + 30, {"d@four.com"}, fingerprint(words(other))));
    r = h.find_similar("ann@x.org", fingerprint(words(other)), kT0 - kDay, kT0 + kDay);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"d@four.com"});
    EXPECT_EQ(h.find_similar("ann@x.org", fingerprint(words(kLetter)), kT0 - kDay, kT0 + kDay).messages, 5);
}

TEST_P(HistoryBehaviour, FamilyCountsOnlyTheWindowAndDeduplicates) {
    std::string a = kLetter;
    std::string b = edit_sentence(a, 6, "i would be glad to visit your site for a trial shift");
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0 - 40 * kDay, {"old@one.com"}, fingerprint(words(a))));
    h.record(rec("ann@x.org", kT0 - 20 * kDay, {"x@two.com"}, fingerprint(words(b))));
    h.record(rec("ann@x.org", kT0 - 10 * kDay, {"X@Two.com", "y@three.com"}, fingerprint(words(a))));
    h.record(rec("ann@x.org", kT0 + 1, {"later@four.com"}, fingerprint(words(b))));
    // The query matches the family; only its members inside the window
    // count, and x@two.com, sent to twice, counts once.
    auto r = h.find_similar("ann@x.org", fingerprint(words(a)), kT0 - 30 * kDay, kT0);
    EXPECT_EQ(r.messages, 2);
    EXPECT_EQ(r.recipients, (std::vector<std::string>{"x@two.com", "y@three.com"}));
    // A stricter min_similarity than the family threshold still counts the
    // family of any member that passes it.
    EXPECT_EQ(h.find_similar("ann@x.org", fingerprint(words(a)), kT0 - 30 * kDay, kT0, 0.95).messages, 2);
}

TEST_P(HistoryBehaviour, TemplateFoundAmongManyBoilerplateLetters) {
    // A bio of four sentences shared by every letter makes the band buckets
    // it wins hold all of the sender's letters; a lookup reads only the
    // newest few of each bucket, and must still find an old template
    // through the buckets its own sentences win.
    std::mt19937 rng(11);
    auto sentence = [&] {
        std::string s;
        for (int i = 0; i < 14; ++i) s += std::string("w") + std::to_string(rng() % 50000) + " ";
        return s + ". ";
    };
    std::string bio;
    for (int i = 0; i < 4; ++i) bio += sentence();
    std::string tmpl = bio;
    for (int i = 0; i < 4; ++i) tmpl += sentence();
    auto fp = fingerprint(words(tmpl));
    auto h_owner = open();
    History& h = *h_owner;
    h.record(rec("ann@x.org", kT0, {"first@one.com"}, fp));
    int spurious = 0;
    for (int i = 0; i < 400; ++i) {
        std::string letter = bio;
        for (int k = 0; k < 4; ++k) letter += sentence();
        auto lf = fingerprint(words(letter));
        spurious += h.find_similar("ann@x.org", lf, kT0, kT0 + kDay).messages;
        h.record(rec("ann@x.org", kT0 + 1 + i, {std::string("r") + std::to_string(i) + "@x.com"}, lf));
    }
    EXPECT_EQ(spurious, 0); // bio-only overlap (~0.33) never matches
    auto r = h.find_similar("ann@x.org", fp, kT0, kT0 + kDay);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"first@one.com"});
}

TEST_P(HistoryBehaviour, PruneNoticesOtherConnections) {
    auto fp = fingerprint(words(kLetter));
    auto a_owner = open();
    History& a = *a_owner;
    auto b_owner = open();
    History& b = *b_owner;
    a.record(rec("ann@x.org", kT0, {"new@one.com"}, fp));
    a.prune(kT0 - kDay); // nothing older: a no-op, and `a` knows the oldest time
    b.record(rec("ann@x.org", kT0 - 5 * kDay, {"old@two.com"}, fp));
    a.prune(kT0 - kDay); // must see b's older message and forget it
    auto r = b.find_similar("ann@x.org", fp, 0, kT0 + 1);
    EXPECT_EQ(r.messages, 1);
    EXPECT_EQ(r.recipients, std::vector<std::string>{"new@one.com"});
}

// A Snapshot groups reads; a write inside one ends it first.
TEST_P(HistoryBehaviour, SnapshotThenWrite) {
    auto fp = fingerprint(words(kLetter));
    auto h_owner = open();
    History& h = *h_owner;
    {
        History::Snapshot s(h);
        EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 0);
        h.record(rec("ann@x.org", kT0, {"one@a.com"}, fp));
        EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 1);
    }
    History::Snapshot s(h);
    EXPECT_EQ(h.find_similar("ann@x.org", fp, 0, kT0 + 1).messages, 1);
}

// A lookup cached by one connection must not hide a message another
// connection recorded since (the cache used to be keyed on a data version
// that only moves when this connection starts a read transaction).
TEST_P(HistoryBehaviour, CachedSearchSeesOtherConnectionsRecords) {
    auto fp = fingerprint(words(kLetter));
    auto a_owner = open();
    History& a = *a_owner;
    auto b_owner = open();
    History& b = *b_owner;
    a.record(rec("ann@x.org", kT0, {"x@a.com"}, fingerprint(words(kOther))));
    EXPECT_EQ(b.find_similar("ann@x.org", fp, 0, kT0 + 10).messages, 0);
    a.record(rec("ann@x.org", kT0 + 1, {"y@b.com"}, fp));
    EXPECT_EQ(b.find_similar("ann@x.org", fp, 0, kT0 + 10).messages, 1);
}

} // namespace rapport::policies::behaviour
