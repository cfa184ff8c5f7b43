#include "engine/kernels/attention_int8.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// The float helpers: AVX2 bit-identical to the reference for n = 1..130.
TEST(AttentionInt8Helpers, Avx2MatchesRef) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(5);
  std::exponential_distribution<float> e(3.0f);
  std::uniform_real_distribution<float> u(0.001f, 0.05f);
  std::uniform_int_distribution<int32_t> ia(-300000, 300000);
  for (int n = 1; n <= 130; ++n) {
    std::vector<float> p(n), mul(n);
    for (float& x : p) x = e(rng) / n;
    for (float& x : mul) x = u(rng);
    for (const float* m : {static_cast<const float*>(nullptr),
                           static_cast<const float*>(mul.data())}) {
      std::vector<uint8_t> want(n), got(n);
      const float sw = QuantizeWeightsU8_ref(p.data(), m, n, want.data());
      const float sg = QuantizeWeightsU8_avx2(p.data(), m, n, got.data());
      ASSERT_EQ(sw, sg) << n;
      ASSERT_EQ(want, got) << n;
    }
    std::vector<int32_t> acc(n);
    for (int32_t& x : acc) x = ia(rng);
    std::vector<float> want(n + 1, -1.0f), got(n + 1, -1.0f);
    DequantizeScoresRow_ref(acc.data(), n, 0.0071f, mul.data(), want.data());
    DequantizeScoresRow_avx2(acc.data(), n, 0.0071f, mul.data(), got.data());
    ASSERT_EQ(want, got) << n;  // includes the untouched sentinel at [n]
    // acc read as 2 rows of n / 2 (1 x 1 for n = 1); want / got beyond the
    // written values must stay untouched.
    const float two[2] = {3.3e-5f, -7.1f};
    const int half = std::max(1, n / 2), rows2 = n >= 2 ? 2 : 1;
    ScaleInt32Rows_ref(acc.data(), half, rows2, half, two, want.data(), half);
    ScaleInt32Rows_avx2(acc.data(), half, rows2, half, two, got.data(), half);
    ASSERT_EQ(want, got) << n;
    const int rows = 1 + n % 7, ld = n + 3;
    std::vector<float> x(static_cast<size_t>(rows) * ld);
    for (float& v : x) v = e(rng);
    std::vector<float> cw(n + 1, 0.5f), cg(n + 1, 0.5f);
    AddRowsTo_ref(x.data(), ld, rows, n, cw.data());
    AddRowsTo_avx2(x.data(), ld, rows, n, cg.data());
    ASSERT_EQ(cw, cg) << n;
  }
}

}  // namespace
}  // namespace fastrel
