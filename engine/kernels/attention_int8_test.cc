#include "engine/kernels/attention_int8.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/kernels/int8_types.h"

namespace fastrel {
namespace {

using QKtFn = void (*)(const int8_t*, int, int, const int8_t*, int, int, int,
                       int32_t*, int);
using PVFn = void (*)(const uint8_t*, int, int, int, const int8_t*, int, int,
                      int32_t*, int);

std::vector<int8_t> RandomS8(size_t n, std::mt19937* rng) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(d(*rng));
  return v;
}

std::vector<uint8_t> RandomU8(size_t n, std::mt19937* rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(d(*rng));
  return v;
}

struct Shape {
  int n_q, n_k, dh;
};

// Head sizes 64 (the models), multiples of 8 and odd ones; n from 1 to 130
// (ragged tails of every tile width).
std::vector<Shape> Shapes() {
  std::vector<Shape> s;
  for (int dh : {64, 32, 8, 1, 7, 63, 66}) {
    for (int n : {1, 2, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100,
                  127, 128, 130}) {
      s.push_back({n, n, dh});
    }
  }
  s.push_back({1, 77, 64});  // one [CLS] query row
  s.push_back({13, 40, 64});
  return s;
}

// Runs `fn` on random operands of every shape (rows padded: ld > width, and
// the output's padding must stay untouched) and compares with the reference.
void CheckQKt(QKtFn fn) {
  std::mt19937 rng(17);
  for (const Shape& sh : Shapes()) {
    const int ld_q = sh.dh + 3, ld_k = sh.dh + 5, ld_s = sh.n_k + 2;
    const auto q = RandomS8(static_cast<size_t>(sh.n_q) * ld_q, &rng);
    const auto k = RandomS8(static_cast<size_t>(sh.n_k) * ld_k, &rng);
    std::vector<int32_t> want(static_cast<size_t>(sh.n_q) * ld_s, -7);
    std::vector<int32_t> got(want.size(), -7);
    Int8QKt_ref(q.data(), ld_q, sh.n_q, k.data(), ld_k, sh.n_k, sh.dh,
                want.data(), ld_s);
    fn(q.data(), ld_q, sh.n_q, k.data(), ld_k, sh.n_k, sh.dh, got.data(), ld_s);
    ASSERT_EQ(got, want) << "n_q=" << sh.n_q << " n_k=" << sh.n_k
                         << " dh=" << sh.dh;
  }
}

void CheckPV(PVFn fn) {
  std::mt19937 rng(23);
  for (const Shape& sh : Shapes()) {
    const int ld_p = sh.n_k + 3, ld_v = sh.dh + 5, ld_c = sh.dh + 2;
    const auto p = RandomU8(static_cast<size_t>(sh.n_q) * ld_p, &rng);
    const auto v = RandomS8(static_cast<size_t>(sh.n_k) * ld_v, &rng);
    std::vector<int32_t> want(static_cast<size_t>(sh.n_q) * ld_c, -7);
    std::vector<int32_t> got(want.size(), -7);
    Int8PV_ref(p.data(), ld_p, sh.n_q, sh.n_k, v.data(), ld_v, sh.dh,
               want.data(), ld_c);
    fn(p.data(), ld_p, sh.n_q, sh.n_k, v.data(), ld_v, sh.dh, got.data(), ld_c);
    ASSERT_EQ(got, want) << "n=" << sh.n_q << " n_k=" << sh.n_k
                         << " dh=" << sh.dh;
  }
}

// Extreme codes everywhere: any s16 saturation would show.
void CheckExtremes(QKtFn qk, PVFn pv) {
  const int n = 130, dh = 66;
  std::vector<int8_t> neg(static_cast<size_t>(n) * dh, -127);
  std::vector<int32_t> s(static_cast<size_t>(n) * n);
  qk(neg.data(), dh, n, neg.data(), dh, n, dh, s.data(), n);
  for (int32_t x : s) ASSERT_EQ(x, 127 * 127 * dh);
  std::vector<uint8_t> p(static_cast<size_t>(n) * n, 255);
  std::vector<int32_t> c(static_cast<size_t>(n) * dh);
  pv(p.data(), n, n, n, neg.data(), dh, dh, c.data(), dh);
  for (int32_t x : c) ASSERT_EQ(x, -255 * 127 * n);
}

TEST(AttentionInt8, RefIsTheDefinition) {
  const int8_t q[3] = {1, -2, 3}, k[6] = {4, 5, -6, -1, 0, 127};
  int32_t s[2];
  Int8QKt_ref(q, 3, 1, k, 3, 2, 3, s, 2);
  EXPECT_EQ(s[0], 4 - 10 - 18);
  EXPECT_EQ(s[1], -1 + 0 + 381);
  const uint8_t p[2] = {255, 2};
  int32_t c[3];
  Int8PV_ref(p, 2, 1, 2, k, 3, 3, c, 3);
  EXPECT_EQ(c[0], 255 * 4 - 2);
  EXPECT_EQ(c[2], 255 * -6 + 2 * 127);
  CheckExtremes(Int8QKt_ref, Int8PV_ref);
}

TEST(AttentionInt8, Avx2MatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  CheckQKt(Int8QKt_avx2);
  CheckPV(Int8PV_avx2);
  CheckExtremes(Int8QKt_avx2, Int8PV_avx2);
}

TEST(AttentionInt8, VnniMatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  CheckQKt(Int8QKt_vnni);
  CheckPV(Int8PV_vnni);
  CheckExtremes(Int8QKt_vnni, Int8PV_vnni);
}

TEST(AttentionInt8, DispatchMatchesRef) {
  CheckQKt(Int8QKt);
  CheckPV(Int8PV);
}

TEST(QuantizeWeightsU8, RefContract) {
  const float w[4] = {0.5f, 0.25f, 0.0f, 0.125f};
  uint8_t code[4];
  const float scale = QuantizeWeightsU8_ref(w, nullptr, 4, code);
  EXPECT_FLOAT_EQ(scale, 0.5f / 255.0f);
  EXPECT_EQ(code[0], 255);
  EXPECT_EQ(code[1], 128);  // 127.5 rounds to even
  EXPECT_EQ(code[2], 0);
  EXPECT_EQ(code[3], 64);                         // 63.75
  const float mul[4] = {1.0f, 4.0f, 3.0f, 2.0f};  // weights .5 1 0 .25
  EXPECT_FLOAT_EQ(QuantizeWeightsU8_ref(w, mul, 4, code), 1.0f / 255.0f);
  EXPECT_EQ(code[0], 128);
  EXPECT_EQ(code[1], 255);
  EXPECT_EQ(code[3], 64);
  const float zeros[3] = {0, 0, 0};
  EXPECT_EQ(QuantizeWeightsU8_ref(zeros, nullptr, 3, code), 1.0f);
  EXPECT_EQ(code[0] | code[1] | code[2], 0);
}

using QuantizeWeightsFn = float (*)(const float*, const float*, int, uint8_t*);
using ScaleRowsFn = void (*)(const int32_t*, int, int, int, const float*,
                             float*, int);

// A SIMD version of QuantizeWeightsU8 and of ScaleInt32Rows bit-identical to
// the reference for n = 1..130 (every 8- and 16-lane tail); nothing beyond
// the written values may change (sentinels).
void CheckHelpers(QuantizeWeightsFn quantize, ScaleRowsFn scale, int seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<float> e(3.0f);
  std::uniform_real_distribution<float> u(0.001f, 0.05f);
  std::uniform_int_distribution<int32_t> ia(-300000, 300000);
  for (int n = 1; n <= 130; ++n) {
    std::vector<float> p(n), mul(n);
    for (float& x : p) x = e(rng) / n;
    for (float& x : mul) x = u(rng);
    for (const float* m : {static_cast<const float*>(nullptr),
                           static_cast<const float*>(mul.data())}) {
      std::vector<uint8_t> want(n + 1, 7), got(n + 1, 7);
      const float sw = QuantizeWeightsU8_ref(p.data(), m, n, want.data());
      const float sg = quantize(p.data(), m, n, got.data());
      ASSERT_EQ(sw, sg) << n;
      ASSERT_EQ(want, got) << n;  // includes the untouched sentinel at [n]
    }
    // acc read as 2 rows of n.
    std::vector<int32_t> acc(2 * n);
    for (int32_t& x : acc) x = ia(rng);
    std::vector<float> want(2 * n + 1, -1.0f), got(2 * n + 1, -1.0f);
    const float two[2] = {3.3e-5f, -7.1f};
    ScaleInt32Rows_ref(acc.data(), n, 2, n, two, want.data(), n);
    scale(acc.data(), n, 2, n, two, got.data(), n);
    ASSERT_EQ(want, got) << n;
  }
}

TEST(AttentionInt8Helpers, Avx2MatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  CheckHelpers(QuantizeWeightsU8_avx2, ScaleInt32Rows_avx2, 5);
}

TEST(AttentionInt8Helpers, Avx512MatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512";
  CheckHelpers(QuantizeWeightsU8_avx512, ScaleInt32Rows_avx512, 6);
}

// Probabilities within this of the reference (std::exp, sequential sum): the
// SIMD exp is ~2 ulp and the sum order differs; probabilities are in [0, 1].
constexpr float kProbTol = 1e-6f;

using ScoresFn = void (*)(const int32_t*, int, int, int, float, const float*,
                          const float*, float*, int, float*);

// Rows of random scores (ld padded; padding of probs must stay untouched),
// with and without colsum, against the reference; returns the outputs.
std::vector<float> CheckScores(ScoresFn fn, int rows, int n, std::mt19937* rng,
                               bool with_colsum) {
  const int ld_a = n + 5, ld_p = n + 3;
  std::uniform_int_distribution<int32_t> ia(-40000, 40000);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  std::vector<int32_t> acc(static_cast<size_t>(rows) * ld_a);
  for (int32_t& x : acc) x = ia(*rng);
  std::vector<float> qs(rows), ks(n);
  for (float& x : qs) x = u(*rng) * 1e-3f;
  for (float& x : ks) x = u(*rng) * 1e-2f;
  std::vector<float> want(static_cast<size_t>(rows) * ld_p + 1, -1.0f);
  std::vector<float> got = want;
  std::vector<float> cw(n + 1, 0.25f), cg = cw;
  ScoresToProbs_ref(acc.data(), ld_a, rows, n, 0.125f, qs.data(), ks.data(),
                    want.data(), ld_p, with_colsum ? cw.data() : nullptr);
  fn(acc.data(), ld_a, rows, n, 0.125f, qs.data(), ks.data(), got.data(), ld_p,
     with_colsum ? cg.data() : nullptr);
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == -1.0f) {
      EXPECT_EQ(got[i], -1.0f) << "padding written at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], kProbTol) << i << " n=" << n;
    }
  }
  for (int j = 0; j <= n; ++j) {
    EXPECT_NEAR(cg[j], cw[j], rows * kProbTol) << j << " n=" << n;
  }
  EXPECT_EQ(cg[n], 0.25f);  // beyond n: untouched
  got.insert(got.end(), cg.begin(), cg.end());
  return got;
}

TEST(ScoresToProbs, RefIsTheDefinition) {
  // One row, n = 3: scores 1000, 0, -1000 times (0.5 * 0.002) * k_scale.
  const int32_t acc[3] = {1000, 0, -1000};
  const float qs = 0.002f, ks[3] = {1.0f, 1.0f, 2.0f};
  float p[3], col[3] = {1.0f, 0.0f, 0.0f};
  ScoresToProbs_ref(acc, 3, 1, 3, 0.5f, &qs, ks, p, 3, col);
  // f = 1, 0, -2.
  const double z = 1.0 + std::exp(-1.0) + std::exp(-3.0);
  EXPECT_NEAR(p[0], 1.0 / z, 1e-7);
  EXPECT_NEAR(p[1], std::exp(-1.0) / z, 1e-7);
  EXPECT_NEAR(p[2], std::exp(-3.0) / z, 1e-7);
  EXPECT_NEAR(col[0], 1.0 + 1.0 / z, 1e-7);
  EXPECT_NEAR(col[2], std::exp(-3.0) / z, 1e-7);
}

TEST(ScoresToProbs, Avx2MatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(8);
  for (int n = 1; n <= 70; ++n) {
    CheckScores(ScoresToProbs_avx2, 1 + n % 5, n, &rng, n % 2 == 0);
  }
  CheckScores(ScoresToProbs_avx2, 7, 300, &rng, true);
}

// AVX-512 against the reference, and bit-identical to AVX2 (same exp, same
// 16-lane sum order): the two ISAs must not score differently.
TEST(ScoresToProbs, Avx512MatchesAvx2Exactly) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512";
  for (int n = 1; n <= 70; ++n) {
    for (bool col : {false, true}) {
      std::mt19937 r1(n), r2(n);
      const auto a = CheckScores(ScoresToProbs_avx512, 1 + n % 5, n, &r1, col);
      const auto b = CheckScores(ScoresToProbs_avx2, 1 + n % 5, n, &r2, col);
      ASSERT_EQ(a, b) << "n=" << n;
    }
  }
}

TEST(ScoresToProbs, DispatchMatchesRef) {
  std::mt19937 rng(9);
  for (int n : {1, 9, 16, 33, 130})
    CheckScores(ScoresToProbs, 3, n, &rng, true);
}

}  // namespace
}  // namespace fastrel
