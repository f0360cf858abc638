// TextIndex (open addressing over one word buffer, hashes shared with the
// fingerprint) against brute force on varied texts, and the masking the
// fingerprint sees, end to end through the Checker.

#include "mime/message.h"
#include "policies/text.h"
#include "policies/checker.h"
#include "policies/history.h"
#include "policies/minhash.h"
#include "policies/people.h"
#include "policies/text_index.h"
#include "policies/policy.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;
namespace rm = rapport::mime;

namespace {

// The definitions, by scanning every position: the words from i glued
// together (with an "s" between two of them or after the last, the
// possessive the word list drops) start with the key, which ends at a
// word's end, or inside the last of two or more words.
std::size_t brute_span(const std::vector<std::string>& w, std::size_t i, std::string_view key) {
    // Every way of gluing words i.. (with or without an "s" after each).
    std::function<std::size_t(std::size_t, std::size_t)> from = [&](std::size_t n, std::size_t len) -> std::size_t {
        if (len == key.size()) return n;
        std::string_view rest = key.substr(len);
        if (n > 0 && rest == "s") return n;
        if (i + n >= w.size()) return 0;
        const std::string& word = w[i + n];
        if (rest.compare(0, word.size(), word) == 0) {
            if (std::size_t r = from(n + 1, len + word.size())) return r;
        } else if (n > 0 && word.size() > rest.size() && word.compare(0, rest.size(), rest) == 0) {
            return n + 1;
        }
        if (n > 0 && rest.size() > 1 && rest[0] == 's') {
            std::string_view after = rest.substr(1);
            if (after.compare(0, word.size(), word) == 0) return from(n + 1, len + 1 + word.size());
        }
        return 0;
    };
    return from(0, 0);
}

// ... or one word is the key with a plural ending ("tescos").
bool brute_names(const std::vector<std::string>& w, std::string_view key) {
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (brute_span(w, i, key) > 0) return true;
        if (w[i] == std::string(key) + "s" || w[i] == std::string(key) + "es") return true;
    }
    return false;
}

} // namespace

TEST(TextIndex, AgreesWithBruteForceOnVariedTexts) {
    // A small vocabulary, so words repeat and prefix each other.
    const std::vector<std::string> vocab = {"harbour", "lets", "harbourlets", "a", "ab", "abc", "bc", "ferrow",
                                            "build", "ferrowbuild", "x", "xx", "zyciorys", "2019", "b"};
    std::mt19937 rng(11);
    for (int round = 0; round < 400; ++round) {
        std::vector<std::string> w;
        std::string text;
        for (std::size_t n = rng() % 60; n > 0; --n) {
            w.push_back(vocab[rng() % vocab.size()]);
            text += w.back() + (rng() % 3 == 0 ? ", " : " ");
        }
        rp::TextIndex index(rp::word_list(text));
        ASSERT_EQ(index.size(), w.size());
        for (std::size_t i = 0; i < w.size(); ++i) {
            ASSERT_EQ(index.words()[i], w[i]);
            ASSERT_EQ(index.hash(i), rp::fnv1a(w[i]));
        }
        // Keys: one to three vocabulary words glued, and near misses
        // (a letter short, a letter more, a letter changed).
        for (int k = 0; k < 30; ++k) {
            std::string key;
            for (std::size_t n = 1 + rng() % 3; n > 0; --n) key += vocab[rng() % vocab.size()];
            std::vector<std::string> keys = {key, key.substr(0, key.size() - 1), key + "s", "q" + key.substr(1)};
            for (const auto& kk : keys) {
                ASSERT_EQ(index.names_key(kk), brute_names(w, kk)) << text << " / " << kk;
                ASSERT_EQ(index.has_word(kk), std::find(w.begin(), w.end(), kk) != w.end()) << kk;
            }
            std::size_t at = w.empty() ? 0 : rng() % w.size();
            ASSERT_EQ(index.span_at(at, key), brute_span(w, at, key)) << text << " / " << key;
        }
    }
}

TEST(TextIndex, EmptyAndDefault) {
    rp::TextIndex none;
    EXPECT_FALSE(none.has_word("a"));
    EXPECT_FALSE(none.names_key("ab"));
    rp::TextIndex empty(rp::word_list(" , . "));
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_FALSE(empty.has_word(""));
    EXPECT_FALSE(empty.names_key(""));
    rp::TextIndex one(rp::word_list("Ferrow Build's"));
    EXPECT_TRUE(one.names_key("ferrowbuild"));
    EXPECT_TRUE(one.names_key("ferrow"));
    EXPECT_TRUE(one.names_key("ferrowbuilds")); // the possessive the word list dropped
    EXPECT_FALSE(one.names_key("ferrowbuildx"));
    EXPECT_FALSE(one.names_key("errowbuild")); // must start on a word boundary
    EXPECT_TRUE(one.names_key("ferrowbuil")); // from the start of a word, ending inside the last of two
    rp::TextIndex glued(rp::word_list("Ferrowbuild and Tescos"));
    EXPECT_FALSE(glued.names_key("ferrowbuil")); // inside one word: only before a plural ending
    EXPECT_TRUE(glued.names_key("tesco"));
    EXPECT_FALSE(glued.names_key("owbuild"));
    EXPECT_FALSE(one.has_word(""));
}

TEST(TextIndex, FnvIsIncrementalAndFeedsTheWordHash) {
    EXPECT_EQ(rp::fnv1a("build", rp::fnv1a("ferrow")), rp::fnv1a("ferrowbuild"));
    EXPECT_EQ(rp::fnv1a(""), rp::kFnvOffset);
    for (const char* w : {"", "a", "harbour", "\x01org", "zyciorys", "2019"})
        EXPECT_EQ(rp::minhash::word_hash_of_fnv(rp::fnv1a(w)), rp::minhash::word_hash(w)) << w;
}

// The fingerprint the Checker records is that of the own words with names
// and organisations masked and digits, URLs and addresses dropped: a
// fingerprint of the masked words written out by hand matches it exactly
// (all 64 values), one with the name left unmasked does not.
TEST(Masking, RecordedFingerprintIsThatOfTheMaskedWords) {
    const std::vector<std::string> base = {"i", "would", "love", "to", "work", "at", "\x01org", "in", "leeds",
                                           "since", "moving", "here", "and", "to", "learn", "from", "\x01name",
                                           "and", "the", "team"};
    for (bool links : {false, true}) {
        rp::SqliteHistory history(":memory:");
        rp::Checker checker(rp::default_policy(), history);
        std::string body = "Dear Anna,\n\nI would love to work at Harbour Lets in Leeds since 2019 moving here";
        body += links ? " www.jake.example https://jake.example/cv jake@example.org " : " ";
        body += "and to learn from Anna and the team.\n\nBest wishes,\nJake\n";
        std::string raw = "From: Jake Turner <jake.turner@gmail.com>\r\n"
                          "To: Anna Kowalska <anna.kowalska@harbourlets.co.uk>\r\n"
                          "Subject: Lettings assistant\r\nDate: Mon, 3 Mar 2025 09:00:00 +0000\r\n"
                          "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + body;
        checker.check(rm::parse(raw));
        const std::int64_t t = 1740992400; // the Date above
        auto masked = rp::fingerprint(base);
        EXPECT_EQ(history.find_similar("jake.turner@gmail.com", masked, t - 10, t + 10, 1.0).messages, 1) << links;
        std::vector<std::string> unmasked = base;
        unmasked[16] = "anna";
        EXPECT_EQ(history.find_similar("jake.turner@gmail.com", rp::fingerprint(unmasked), t - 10, t + 10, 1.0)
                      .messages,
                  0)
            << links;
    }
}
