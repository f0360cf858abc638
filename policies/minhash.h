// minhash.h - the arithmetic behind History's near-duplicate search.
//
// A text becomes the set of its 3-word shingles (64-bit hashes); each of
// kSignatureSize seeded hash functions keeps the low 16 bits of its minimum
// over that set (b-bit MinHash, b = 16). Two signatures agree in a slot with
// probability J (the Jaccard similarity of the shingle sets) plus 2^-16.
//
// LSH banding: the first kBands slots each form a band of kRows = 1 value;
// two texts of a sender become candidates when any band is equal. With 10
// bands a pair at J = 0.5 is a candidate with probability 1 - 0.5^10 =
// 99.9%, at J = 0.4 with 99.4%. Low-similarity pairs (a shared bio, common
// phrases) are candidates often too (J = 0.14: 78%): a bucket won by a
// boilerplate shingle holds a large share of the sender's letters. History
// therefore reads only the newest kBucketLimit messages of each bucket and
// verifies them against the stored signature, so the work per lookup is
// bounded (at most kBands * kBucketLimit candidates) whatever the bucket
// sizes; templates are found through their own, small buckets.
//
// Internal to the history's implementations (policies/history*.cc,
// store/pg_history.cc); history.h is the public face.

#pragma once

#include "policies/history.h"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rapport::policies::minhash {

inline constexpr std::size_t kShingleWords = 3;
inline constexpr std::size_t kRows = 1;
inline constexpr std::size_t kBands = 10;
// Candidates read per band bucket, newest first.
inline constexpr int kBucketLimit = 12;
static_assert(kBands * kRows <= kSignatureSize);

// A message joins the family of an earlier one at this similarity. It is
// above the default min_similarity of find_similar (0.5, "most sentences
// identical") on purpose: families chain, and with 64 MinHash slots a pair
// at J = 0.33 (a four-sentence bio in an eight-sentence letter) is estimated
// at 0.5 or more about once in 500 comparisons - at 0.5 such false links
// merged unrelated families in the adversarial benchmark (65 "matches" per
// lookup instead of ~15); at 0.65 the chance is ~1e-7. A near-copy with
// one sentence of eight rewritten (~0.75) still joins.
inline constexpr double kTemplateThreshold = 0.65;

// fingerprint() in two steps, for callers that have the words' hashes
// without the words (Checker: masked words go straight to hashes).
std::uint64_t word_hash(std::string_view word);
// splitmix64's finaliser: a fast bijective mixer with good avalanche.
inline constexpr std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
// word_hash() from the word's fnv1a() (text_index.h), which TextIndex keeps;
// inline, as masking calls it for every word of a letter.
inline std::uint64_t word_hash_of_fnv(std::uint64_t fnv) { return mix64(fnv); }
Fingerprint fingerprint_of_hashes(const std::vector<std::uint64_t>& word_hashes);

// The two loops of a fingerprint, in several implementations (scalar,
// AVX2, AVX-512) that give the same values: `shingles` hashes the n
// shingles of n + kShingleWords - 1 word hashes into `out`; `minima`
// takes, for each of the kSignatureSize seeded mixes, the minimum over `n`
// shingle hashes (the maximum when n is 0). kernels() lists those this CPU
// can run, scalar first; the fingerprint uses the last. Listed for the
// tests that compare them.
struct Kernel {
    const char* name;
    void (*shingles)(const std::uint64_t* word_hashes, std::size_t n, std::uint64_t* out);
    void (*minima)(const std::uint64_t* shingles, std::size_t n, std::uint64_t* minima);
};
std::vector<Kernel> kernels();

// The band keys of `print` for the account `sender_id`: the sender's id
// above a 32-bit hash of (sender, band number, band values), so equal keys
// mean the same sender and almost always the same band, and a sender's
// keys sort together. `print` must not be empty.
std::array<std::int64_t, kBands> band_keys(std::int64_t sender_id, const Fingerprint& print);

// 2 bytes per value, little-endian; decode() returns an empty Fingerprint
// for a blob of the wrong size.
std::string encode(const Fingerprint& print);
Fingerprint decode(const void* data, std::size_t size);

} // namespace rapport::policies::minhash
