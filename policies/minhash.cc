// minhash.cc - fingerprint(), similarity() and the LSH band keys.
//
// Cost: one 64-bit mix per (shingle, slot): a 250-word letter is about
// 16k mixes, some tens of microseconds.

#include "policies/minhash.h"

#include "policies/text_index.h"

#include <algorithm>
#include <limits>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rapport::policies {
namespace {

using minhash::kShingleWords;
using minhash::mix64;

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

// The minima over the shingles of mix64(shingle ^ seed), for every seed:
// kSignatureSize mixes per distinct shingle, most of a fingerprint's cost
// (a letter of 1300 distinct shingles: 83k mixes, about 100 us one at a
// time). The vector versions mix 4 (AVX2) or 8 (AVX-512) seeds at once and
// give the same minima; the CPU decides once which one runs.
// Order matters inside a shingle: h(a b c) != h(c b a).
void shingles_scalar(const std::uint64_t* wh, std::size_t n, std::uint64_t* out) {
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t h = 0;
        for (std::size_t k = 0; k < kShingleWords; ++k) h = mix64(h ^ wh[i + k]) + k;
        out[i] = h;
    }
}

void minima_scalar(const std::uint64_t* sh, std::size_t n, std::uint64_t* best) {
    for (std::size_t s = 0; s < kSignatureSize; ++s) {
        std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
        for (std::size_t i = 0; i < n; ++i) m = std::min(m, mix64(sh[i] ^ kSeeds[s]));
        best[s] = m;
    }
}

#if defined(__x86_64__)
// 64-bit lanes multiplied modulo 2^64 from 32-bit products (AVX2 has no
// 64-bit multiply): lo*lo + ((hi*lo + lo*hi) << 32).
[[gnu::target("avx2"), gnu::always_inline]] inline __m256i mul64_avx2(__m256i a, __m256i b) {
    __m256i lo = _mm256_mul_epu32(a, b);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                     _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

[[gnu::target("avx2"), gnu::always_inline]] inline __m256i mix64_avx2(__m256i x) {
    const __m256i c1 = _mm256_set1_epi64x(static_cast<long long>(0xbf58476d1ce4e5b9ULL));
    const __m256i c2 = _mm256_set1_epi64x(static_cast<long long>(0x94d049bb133111ebULL));
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 30));
    x = mul64_avx2(x, c1);
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 27));
    x = mul64_avx2(x, c2);
    return _mm256_xor_si256(x, _mm256_srli_epi64(x, 31));
}

// Four shingles at a time: lanes i..i+3 read words i..i+5.
[[gnu::target("avx2")]] void shingles_avx2(const std::uint64_t* wh, std::size_t n, std::uint64_t* out) {
    static_assert(kShingleWords == 3);
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const auto* p = reinterpret_cast<const __m256i*>(wh + i);
        __m256i h = mix64_avx2(_mm256_loadu_si256(p));
        h = _mm256_add_epi64(mix64_avx2(_mm256_xor_si256(h, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wh + i + 1)))),
                             _mm256_set1_epi64x(1));
        h = _mm256_add_epi64(mix64_avx2(_mm256_xor_si256(h, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wh + i + 2)))),
                             _mm256_set1_epi64x(2));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), h);
    }
    shingles_scalar(wh + i, n - i, out + i);
}

[[gnu::target("avx2")]] void minima_avx2(const std::uint64_t* sh, std::size_t n, std::uint64_t* best) {
    // AVX2 compares signed 64-bit lanes only: the minima are kept with
    // their top bit flipped, which turns unsigned order into signed order.
    const __m256i flip = _mm256_set1_epi64x(static_cast<long long>(0x8000000000000000ULL));
    constexpr std::size_t kHalf = kSignatureSize / 8; // 8 vectors of 4 seeds: half the seeds per pass
    for (std::size_t half = 0; half < 2; ++half) {
        __m256i seed[kHalf], low[kHalf];
        for (std::size_t v = 0; v < kHalf; ++v) {
            seed[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kSeeds.data() + 4 * (half * kHalf + v)));
            low[v] = _mm256_set1_epi64x(0x7fffffffffffffffLL); // the maximum, flipped
        }
        for (std::size_t i = 0; i < n; ++i) {
            const __m256i s = _mm256_set1_epi64x(static_cast<long long>(sh[i]));
            for (std::size_t v = 0; v < kHalf; ++v) {
                __m256i x = _mm256_xor_si256(mix64_avx2(_mm256_xor_si256(s, seed[v])), flip);
                low[v] = _mm256_blendv_epi8(low[v], x, _mm256_cmpgt_epi64(low[v], x));
            }
        }
        for (std::size_t v = 0; v < kHalf; ++v)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(best + 4 * (half * kHalf + v)),
                                _mm256_xor_si256(low[v], flip));
    }
}

// GCC 12 warns about _mm512_undefined_epi32() inside its own shift
// intrinsics (a self-initialised variable in avx512fintrin.h).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
[[gnu::target("avx512f,avx512dq"), gnu::always_inline]] inline __m512i mix64_avx512(__m512i x) {
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 30));
    x = _mm512_mullo_epi64(x, _mm512_set1_epi64(static_cast<long long>(0xbf58476d1ce4e5b9ULL)));
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 27));
    x = _mm512_mullo_epi64(x, _mm512_set1_epi64(static_cast<long long>(0x94d049bb133111ebULL)));
    return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

// Eight shingles at a time: lanes i..i+7 read words i..i+9.
[[gnu::target("avx512f,avx512dq")]] void shingles_avx512(const std::uint64_t* wh, std::size_t n, std::uint64_t* out) {
    static_assert(kShingleWords == 3);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i h = mix64_avx512(_mm512_loadu_si512(wh + i));
        h = _mm512_add_epi64(mix64_avx512(_mm512_xor_si512(h, _mm512_loadu_si512(wh + i + 1))), _mm512_set1_epi64(1));
        h = _mm512_add_epi64(mix64_avx512(_mm512_xor_si512(h, _mm512_loadu_si512(wh + i + 2))), _mm512_set1_epi64(2));
        _mm512_storeu_si512(out + i, h);
    }
    shingles_scalar(wh + i, n - i, out + i);
}

[[gnu::target("avx512f,avx512dq")]] void minima_avx512(const std::uint64_t* sh, std::size_t n, std::uint64_t* best) {
    constexpr std::size_t kVecs = kSignatureSize / 8;
    __m512i seed[kVecs], low[kVecs];
    for (std::size_t v = 0; v < kVecs; ++v) {
        seed[v] = _mm512_loadu_si512(kSeeds.data() + 8 * v);
        low[v] = _mm512_set1_epi64(-1);
    }
    for (std::size_t i = 0; i < n; ++i) {
        const __m512i s = _mm512_set1_epi64(static_cast<long long>(sh[i]));
        for (std::size_t v = 0; v < kVecs; ++v) {
            low[v] = _mm512_min_epu64(low[v], mix64_avx512(_mm512_xor_si512(s, seed[v])));
        }
    }
    for (std::size_t v = 0; v < kVecs; ++v) _mm512_storeu_si512(best + 8 * v, low[v]);
}
#pragma GCC diagnostic pop
#endif

} // namespace

namespace minhash {

std::vector<Kernel> kernels() {
    std::vector<Kernel> out = {{"scalar", shingles_scalar, minima_scalar}};
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) out.push_back({"avx2", shingles_avx2, minima_avx2});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        out.push_back({"avx512", shingles_avx512, minima_avx512});
#endif
    return out;
}

} // namespace minhash

Fingerprint fingerprint(const std::vector<std::string>& words) {
    std::vector<std::uint64_t> wh;
    wh.reserve(words.size());
    for (const auto& w : words) wh.push_back(hash_word(w));
    return minhash::fingerprint_of_hashes(wh);
}

namespace minhash {

std::uint64_t word_hash(std::string_view w) { return hash_word(w); }

Fingerprint fingerprint_of_hashes(const std::vector<std::uint64_t>& wh) {
    Fingerprint fp;
    if (wh.size() < kShingleWords) return fp;

    // The widest kernels this CPU runs (they agree; minhash_test checks).
    static const Kernel kernel = kernels().back();
    const std::size_t n = wh.size() - kShingleWords + 1;
    // Scratch kept per thread: a letter's shingles and the set below are
    // tens of kilobytes, made for every message.
    thread_local std::vector<std::uint64_t> all, table, shingles;
    all.resize(n);
    kernel.shingles(wh.data(), n, all.data());

    // Each distinct shingle once (a repeated one cannot change a minimum,
    // but costs kSignatureSize mixes): an open-addressing set, cheaper
    // than sorting. The table is left empty again for the next message by
    // clearing only the slots used.
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (table.size() < cap) table.assign(cap, 0); // 0 = free slot; the shingle 0 is tracked apart
    bool zero = false;
    shingles.clear();
    for (std::uint64_t h : all) {
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

    std::array<std::uint64_t, kSignatureSize> best;
    kernel.minima(shingles.data(), shingles.size(), best.data());
    for (std::uint64_t h : shingles) {
        if (h == 0) continue;
        std::size_t slot = static_cast<std::size_t>(h) & (cap - 1);
        while (table[slot] != h) slot = (slot + 1) & (cap - 1);
        table[slot] = 0;
    }
    fp.minhash.resize(kSignatureSize);
    for (std::size_t s = 0; s < kSignatureSize; ++s) {
        // The low bits of the minimum are as random as any; its high bits
        // are not (a minimum is small), so b-bit MinHash keeps the low ones.
        fp.minhash[s] = static_cast<std::uint32_t>(best[s] & 0xffff);
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
