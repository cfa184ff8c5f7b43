#include "engine/kernels/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/int8_test_util.h"

namespace fastrel {
namespace {

using testing_util::Nmse;
using testing_util::RandomFloats;

// Round-to-nearest error bound: |x - scale * q| <= scale / 2, plus float
// rounding of x * inv and of the dequantization (a few ulps of |x|).
constexpr float kRoundSlackUlps = 4.0f;
// 8-bit symmetric per-row quantization of uniform data: NMSE ~ (1/127)^2 / 3
// / E[x^2]/amax^2 ~ 6e-5; 2e-4 leaves margin for heavy-tailed rows.
constexpr double kSymmetricNmse = 2e-4;

const int kSizes[] = {1, 7, 8, 33, 256, 1000};

bool Avx2() { return IsaAvailable(KernelIsa::kAvx2); }

TEST(QuantizeTest, SymmetricAvx2MatchesRefBitwise) {
  if (!Avx2()) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(1);
  for (int k : kSizes) {
    const int m = 5;
    auto x = RandomFloats(static_cast<size_t>(m) * k, -3.0f, 3.0f, rng);
    x[0] = 0.5f;  // ties etc. are covered by random data; add an exact half
    std::vector<int8_t> qr(x.size()), qa(x.size());
    std::vector<float> sr(m), sa(m);
    ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), m, k, k, qr.data(), k,
                                      sr.data(), KernelIsa::kRef)
                    .ok());
    ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), m, k, k, qa.data(), k,
                                      sa.data(), KernelIsa::kAvx2)
                    .ok());
    EXPECT_EQ(qr, qa) << "k=" << k;
    EXPECT_EQ(sr, sa) << "k=" << k;
  }
}

// The AVX-512 rows (quantize_avx512.cc) against the AVX2 rows, bitwise:
// every tail length around the 16- and 32-lane steps, rows of exact ties
// (x = j + 0.5 with multiplier 1) and an all-zero row.
TEST(QuantizeTest, SymmetricAvx512MatchesAvx2Bitwise) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(5);
  for (int k : {1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 256, 1000, 1024}) {
    const int m = 4;
    auto x = RandomFloats(static_cast<size_t>(m) * k, -3.0f, 3.0f, rng);
    for (int i = 0; i < k; ++i) {
      x[k + i] = ((i % 254) - 127) + 0.5f;  // row 1: ties
      x[2 * k + i] = 0.0f;                  // row 2: zeros
    }
    x[k] = 127.0f;  // row 1's max: multiplier exactly 1
    std::vector<int8_t> q2(x.size()), q5(x.size());
    std::vector<float> s2(m), s5(m);
    ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), m, k, k, q2.data(), k,
                                      s2.data(), KernelIsa::kAvx2)
                    .ok());
    ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), m, k, k, q5.data(), k,
                                      s5.data(), KernelIsa::kAvx512Vnni)
                    .ok());
    EXPECT_EQ(q2, q5) << "k=" << k;
    EXPECT_EQ(s2, s5) << "k=" << k;
  }
}

TEST(QuantizeTest, SymmetricRangeErrorAndNmse) {
  std::mt19937 rng(2);
  const int m = 9, k = 257;
  auto x = RandomFloats(static_cast<size_t>(m) * k, -10.0f, 10.0f, rng);
  std::vector<int8_t> q(x.size());
  std::vector<float> s(m);
  ASSERT_TRUE(
      QuantizeRowsSymmetric(x.data(), m, k, k, q.data(), k, s.data()).ok());
  std::vector<float> deq(x.size());
  for (int r = 0; r < m; ++r) {
    bool hit_max = false;
    for (int i = 0; i < k; ++i) {
      const int8_t v = q[r * k + i];
      ASSERT_GE(v, -127);
      hit_max |= (v == 127 || v == -127);
      deq[r * k + i] = s[r] * v;
      const float xv = x[r * k + i];
      EXPECT_LE(std::fabs(xv - deq[r * k + i]),
                s[r] / 2 + kRoundSlackUlps * 1.2e-7f * std::fabs(xv));
    }
    EXPECT_TRUE(hit_max) << "the largest |x| must map to +-127";
  }
  EXPECT_LT(Nmse(deq, x), kSymmetricNmse);
}

TEST(QuantizeTest, AsymmetricAvx2MatchesRefAndBounds) {
  std::mt19937 rng(3);
  for (int k : kSizes) {
    const int m = 4;
    // Shifted range so the zero point is interior, plus an all-positive row.
    auto x = RandomFloats(static_cast<size_t>(m) * k, -1.0f, 4.0f, rng);
    for (int i = 0; i < k; ++i) x[k + i] = std::fabs(x[k + i]) + 1.0f;
    std::vector<uint8_t> qr(x.size()), qa(x.size());
    std::vector<float> sr(m), sa(m);
    std::vector<int32_t> zr(m), za(m);
    ASSERT_TRUE(QuantizeRowsAsymmetric(x.data(), m, k, k, qr.data(), k,
                                       sr.data(), zr.data(), KernelIsa::kRef)
                    .ok());
    for (int r = 0; r < m; ++r) {
      ASSERT_GE(zr[r], 0);
      ASSERT_LE(zr[r], 255);
      for (int i = 0; i < k; ++i) {
        const float xv = x[r * k + i];
        const float d = sr[r] * (qr[r * k + i] - zr[r]);
        // Zero-point rounding adds up to another half step.
        EXPECT_LE(std::fabs(xv - d), sr[r] + 1e-5f * std::fabs(xv))
            << "k=" << k << " r=" << r;
      }
    }
    if (!Avx2()) continue;
    ASSERT_TRUE(QuantizeRowsAsymmetric(x.data(), m, k, k, qa.data(), k,
                                       sa.data(), za.data(), KernelIsa::kAvx2)
                    .ok());
    EXPECT_EQ(qr, qa) << "k=" << k;
    EXPECT_EQ(sr, sa);
    EXPECT_EQ(zr, za);
  }
}

TEST(QuantizeTest, SymmetricTiesRoundToEvenLikeRef) {
  // max |x| = 127 makes the multiplier exactly 1, so every x = j + 0.5 is a
  // tie: the AVX2 conversion must round half to even, as std::nearbyint.
  const int k = 1000;
  std::vector<float> x(k);
  for (int i = 0; i < k; ++i) x[i] = ((i % 254) - 127) + 0.5f;
  x[5] = 127.0f;
  std::vector<int8_t> qr(k), qa(k);
  float sr = 0, sa = 0;
  ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), 1, k, k, qr.data(), k, &sr,
                                    KernelIsa::kRef)
                  .ok());
  EXPECT_EQ(qr[0], -126);  // -126.5 -> -126 (even)
  EXPECT_EQ(qr[1], -126);  // -125.5 -> -126 (even)
  if (!Avx2()) GTEST_SKIP() << "no AVX2";
  ASSERT_TRUE(QuantizeRowsSymmetric(x.data(), 1, k, k, qa.data(), k, &sa,
                                    KernelIsa::kAvx2)
                  .ok());
  EXPECT_EQ(qr, qa);
  EXPECT_EQ(sr, sa);
}

TEST(QuantizeTest, StaticClampsAndMatches) {
  std::mt19937 rng(4);
  const int m = 3, k = 77;  // one 32-wide step, then 8-wide, then scalar
  auto x = RandomFloats(static_cast<size_t>(m) * k, -5.0f, 5.0f, rng);
  x[3] = 1e30f;
  x[4] = -1e30f;
  x[k + 40] = 2.0f;   // clamped in the 32-wide step of row 1
  x[k + 70] = -3.0f;  // and in the 8-wide step
  std::vector<int8_t> qr(x.size()), qa(x.size());
  ASSERT_TRUE(
      QuantizeStatic(x.data(), m, k, k, 0.01f, qr.data(), k, KernelIsa::kRef)
          .ok());
  EXPECT_EQ(qr[3], 127);
  EXPECT_EQ(qr[4], -127);
  if (Avx2()) {
    ASSERT_TRUE(
        QuantizeStatic(x.data(), m, k, k, 0.01f, qa.data(), k, KernelIsa::kAvx2)
            .ok());
    EXPECT_EQ(qr, qa);
  }
  EXPECT_FALSE(QuantizeStatic(x.data(), m, k, k, 0.0f, qr.data(), k).ok());
  EXPECT_FALSE(QuantizeStatic(x.data(), m, k, k, -1.0f, qr.data(), k).ok());
}

TEST(QuantizeTest, ZeroRowsAndBadArguments) {
  std::vector<float> x(16, 0.0f);
  std::vector<int8_t> q(16, 5);
  std::vector<uint8_t> qu(16, 5);
  float s = 0;
  int32_t zp = -1;
  ASSERT_TRUE(
      QuantizeRowsSymmetric(x.data(), 1, 16, 16, q.data(), 16, &s).ok());
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(q, std::vector<int8_t>(16, 0));
  ASSERT_TRUE(
      QuantizeRowsAsymmetric(x.data(), 1, 16, 16, qu.data(), 16, &s, &zp).ok());
  EXPECT_EQ(zp, 0);
  EXPECT_EQ(qu, std::vector<uint8_t>(16, 0));
  EXPECT_FALSE(
      QuantizeRowsSymmetric(x.data(), 1, 0, 16, q.data(), 16, &s).ok());
  EXPECT_FALSE(
      QuantizeRowsSymmetric(x.data(), 1, 16, 8, q.data(), 16, &s).ok());
  EXPECT_FALSE(
      QuantizeRowsSymmetric(nullptr, 1, 16, 16, q.data(), 16, &s).ok());
  EXPECT_TRUE(
      QuantizeRowsSymmetric(nullptr, 0, 16, 16, nullptr, 16, nullptr).ok());
}

}  // namespace
}  // namespace fastrel
