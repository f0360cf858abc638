// minhash.cc - fingerprint(), similarity() and the LSH band keys.
//
// Cost: one 64-bit mix per (shingle, slot): a 250-word letter is about
// 16k mixes, some tens of microseconds.

#include "policies/minhash.h"

#include "policies/people.h"

#include <algorithm>
#include <limits>
#include <string_view>

namespace rapport::policies {
namespace {

// splitmix64's finaliser: a fast bijective mixer with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t hash_word(std::string_view w) { return mix64(fnv1a(w)); }

// Seeds of the kSignatureSize hash functions, fixed forever: changing them
// makes every stored fingerprint incomparable with new ones.
constexpr std::array<std::uint64_t, kSignatureSize> make_seeds() {
    std::array<std::uint64_t, kSignatureSize> s{};
    std::uint64_t x = 0x5241505030525421ULL; // "RAPP0RT!"
    for (auto& v : s) {
        x += 0x9e3779b97f4a7c15ULL;
        v = mix64(x);
    }
    return s;
}
constexpr auto kSeeds = make_seeds();

} // namespace

Fingerprint fingerprint(const std::vector<std::string>& words) {
    std::vector<std::uint64_t> wh;
    wh.reserve(words.size());
    for (const auto& w : words) wh.push_back(hash_word(w));
    return minhash::fingerprint_of_hashes(wh);
}

namespace minhash {

std::uint64_t word_hash(std::string_view w) { return hash_word(w); }
std::uint64_t word_hash_of_fnv(std::uint64_t fnv) { return mix64(fnv); }

Fingerprint fingerprint_of_hashes(const std::vector<std::uint64_t>& wh) {
    Fingerprint fp;
    if (wh.size() < kShingleWords) return fp;

    // Order matters inside a shingle: h(a b c) != h(c b a). Each distinct
    // shingle once (a repeated one cannot change a minimum, but costs
    // kSignatureSize mixes): an open-addressing set, cheaper than sorting.
    const std::size_t n = wh.size() - kShingleWords + 1;
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    std::vector<std::uint64_t> table(cap, 0); // 0 = free slot; the shingle 0 is tracked apart
    bool zero = false;
    std::vector<std::uint64_t> shingles;
    shingles.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t h = 0;
        for (std::size_t k = 0; k < kShingleWords; ++k) h = mix64(h ^ wh[i + k]) + k;
        if (h == 0) {
            if (!zero) shingles.push_back(h);
            zero = true;
            continue;
        }
        std::size_t slot = static_cast<std::size_t>(h) & (cap - 1); // h is well mixed
        while (table[slot] != 0 && table[slot] != h) slot = (slot + 1) & (cap - 1);
        if (table[slot] == 0) {
            table[slot] = h;
            shingles.push_back(h);
        }
    }

    fp.minhash.resize(kSignatureSize);
    for (std::size_t s = 0; s < kSignatureSize; ++s) {
        std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
        for (std::uint64_t sh : shingles) best = std::min(best, mix64(sh ^ kSeeds[s]));
        // The low bits of the minimum are as random as any; its high bits
        // are not (a minimum is small), so b-bit MinHash keeps the low ones.
        fp.minhash[s] = static_cast<std::uint32_t>(best & 0xffff);
    }
    return fp;
}

} // namespace minhash

double similarity(const Fingerprint& a, const Fingerprint& b) {
    if (a.empty() || b.empty() || a.minhash.size() != b.minhash.size()) return 0.0;
    std::size_t equal = 0;
    for (std::size_t i = 0; i < a.minhash.size(); ++i) equal += a.minhash[i] == b.minhash[i];
    return static_cast<double>(equal) / static_cast<double>(a.minhash.size());
}

namespace minhash {

std::array<std::int64_t, kBands> band_keys(std::int64_t sender_id, const Fingerprint& print) {
    std::array<std::int64_t, kBands> keys{};
    for (std::size_t b = 0; b < kBands; ++b) {
        std::uint64_t h = mix64(static_cast<std::uint64_t>(sender_id) * 0x9e3779b97f4a7c15ULL + b);
        for (std::size_t r = 0; r < kRows; ++r) h = mix64(h ^ (print.minhash[b * kRows + r] & 0xffff));
        // The sender's id above 32 bits of hash: a sender's band rows sit
        // together in the index, so the ten rows a record adds and the ten
        // buckets a lookup reads share a few B-tree pages instead of
        // touching ten random ones (in a history of many senders, fewer
        // pages written to the WAL per commit and read per check). Within
        // a sender, a rare collision costs one extra candidate, verified.
        keys[b] = static_cast<std::int64_t>((static_cast<std::uint64_t>(sender_id) << 32) | (h >> 32));
    }
    return keys;
}

std::string encode(const Fingerprint& print) {
    std::string out;
    out.reserve(print.minhash.size() * 2);
    for (std::uint32_t v : print.minhash) {
        out.push_back(static_cast<char>(v & 0xff));
        out.push_back(static_cast<char>((v >> 8) & 0xff));
    }
    return out;
}

Fingerprint decode(const void* data, std::size_t size) {
    Fingerprint fp;
    if (data == nullptr || size != kSignatureSize * 2) return fp;
    const auto* p = static_cast<const unsigned char*>(data);
    fp.minhash.resize(kSignatureSize);
    for (std::size_t i = 0; i < kSignatureSize; ++i)
        fp.minhash[i] = static_cast<std::uint32_t>(p[2 * i]) | (static_cast<std::uint32_t>(p[2 * i + 1]) << 8);
    return fp;
}

} // namespace minhash
} // namespace rapport::policies
