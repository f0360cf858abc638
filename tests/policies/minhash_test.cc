// The MinHash kernels (scalar, AVX2, AVX-512 - those this CPU runs) give
// the same shingle hashes and minima on varied inputs, so fingerprints do
// not depend on the machine that made them.

#include "policies/history.h"
#include "policies/minhash.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <string>
#include <random>
#include <vector>

namespace rp = rapport::policies;

TEST(MinHashKernels, AllAgreeWithScalar) {
    auto kernels = rp::minhash::kernels();
    ASSERT_GE(kernels.size(), 1u);
    EXPECT_STREQ(kernels.front().name, "scalar");
    for (auto& k : kernels) std::printf("kernel: %s\n", k.name);
    std::mt19937_64 rng(42);
    for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 75u, 1246u, 5000u}) {
        for (int round = 0; round < 5; ++round) {
            std::vector<std::uint64_t> sh(n);
            for (auto& x : sh) x = rng();
            // Values whose mixes cross the sign bit, zero and the maximum.
            if (n > 2) {
                sh[0] = 0;
                sh[1] = std::numeric_limits<std::uint64_t>::max();
                sh[2] = 0x8000000000000000ULL;
            }
            std::vector<std::uint64_t> want(rp::kSignatureSize), got(rp::kSignatureSize);
            kernels.front().minima(sh.data(), n, want.data());
            if (n == 0) {
                for (auto v : want) EXPECT_EQ(v, std::numeric_limits<std::uint64_t>::max());
            }
            for (auto& k : kernels) {
                std::fill(got.begin(), got.end(), 0);
                k.minima(sh.data(), n, got.data());
                ASSERT_EQ(got, want) << k.name << " n=" << n;
            }
        }
    }
}

TEST(MinHashKernels, ShingleHashesAgreeWithScalar) {
    auto kernels = rp::minhash::kernels();
    std::mt19937_64 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 1246u}) {
        std::vector<std::uint64_t> wh(n + rp::minhash::kShingleWords - 1);
        for (auto& x : wh) x = rng();
        if (wh.size() > 3) {
            wh[1] = 0;
            wh[2] = std::numeric_limits<std::uint64_t>::max();
        }
        std::vector<std::uint64_t> want(n), got(n);
        kernels.front().shingles(wh.data(), n, want.data());
        for (auto& k : kernels) {
            std::fill(got.begin(), got.end(), 1);
            k.shingles(wh.data(), n, got.data());
            ASSERT_EQ(got, want) << k.name << " n=" << n;
        }
    }
}

// The fingerprint of a text is fixed forever (stored ones must stay
// comparable): a letter's signature as the code before the vector kernels
// computed it, whatever kernel runs now.
TEST(MinHashKernels, FingerprintIsStable) {
    std::vector<std::string> words;
    for (int i = 0; i < 300; ++i) words.push_back("w" + std::to_string(i * 7919 % 1000));
    const std::vector<std::uint32_t> want = {
        57689, 2970,  31833, 61116, 5437,  29777, 56452, 52756, 14659, 49521, 46797, 2648,  25280,
        60656, 38718, 8861,  25524, 44135, 12774, 29556, 1546,  19916, 12755, 39977, 10562, 65121,
        62273, 63776, 48652, 22631, 19841, 26360, 15834, 5714,  65024, 44218, 30531, 25904, 47772,
        11127, 11408, 52372, 31136, 41472, 44382, 20772, 16670, 47204, 51434, 11265, 27674, 20584,
        32369, 24476, 28072, 59939, 15749, 15134, 45579, 6838,  41296, 11621, 18528, 44644};
    EXPECT_EQ(rp::fingerprint(words).minhash, want);
}
