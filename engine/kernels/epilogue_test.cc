#include "engine/kernels/epilogue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/quantize.h"

namespace fastrel {
namespace {

using testing_util::RandomFloats;
using testing_util::RandomInts;

// vs exact (double) math: float(c) rounds (<= 0.5 ulp), sa*sw (0.5 ulp),
// the product (0.5 ulp), the bias add (0.5 ulp of the sum); GELU's erff is
// within ~2 ulp. 8 ulps of the largest magnitude involved bounds it all.
constexpr float kEpilogueUlps = 8.0f;
// AVX2 GELU (vectorized rational erf, epilogue_avx2.cc) vs std::erf GELU:
// the erf approximation is within ~1.5e-7 absolute (erf is in [-1, 1]); GELU
// multiplies that by 0.5 * |y|, so the bound is absolute per unit of the
// GELU *input* y (measured worst: ~8e-8 * (1 + |y|)), not relative to the
// output (which cancels to ~0 for y << 0). 2e-7 * (1 + |y|) leaves 2.5x
// margin and still catches a wrong coefficient (errors >= 1e-4).
constexpr float kGeluTol = 2e-7f;

struct Inputs {
  int m, n;
  std::vector<int32_t> acc, zp, col_sum;
  std::vector<float> sa, sw, bias, res;
};

Inputs MakeInputs(int m, int n, std::mt19937& rng) {
  Inputs in;
  in.m = m;
  in.n = n;
  in.acc =
      RandomInts<int32_t>(static_cast<size_t>(m) * n, -2000000, 2000000, rng);
  in.zp = RandomInts<int32_t>(m, 0, 255, rng);
  in.col_sum = RandomInts<int32_t>(n, -3000, 3000, rng);
  in.sa = RandomFloats(m, 1e-4f, 1e-2f, rng);
  in.sw = RandomFloats(n, 1e-4f, 1e-2f, rng);
  in.bias = RandomFloats(n, -2.0f, 2.0f, rng);
  in.res = RandomFloats(static_cast<size_t>(m) * n, -2.0f, 2.0f, rng);
  return in;
}

Epilogue Make(const Inputs& in, bool zp, bool bias, bool gelu, bool res,
              float* out) {
  Epilogue ep;
  ep.act_scale = in.sa.data();
  ep.weight_scale = in.sw.data();
  if (zp) {
    ep.act_zero_point = in.zp.data();
    ep.weight_col_sum = in.col_sum.data();
  }
  if (bias) ep.bias = in.bias.data();
  ep.gelu = gelu;
  if (res) {
    ep.residual = in.res.data();
    ep.ld_residual = in.n;
  }
  ep.out = out;
  ep.ld_out = in.n;
  return ep;
}

TEST(EpilogueTest, Avx2BitwiseEqualsRefAndCloseToExactMath) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(30);
  for (int n : {1, 7, 8, 67, 256}) {
    const int m = 5;
    Inputs in = MakeInputs(m, n, rng);
    for (int mask = 0; mask < 16; ++mask) {
      const bool zp = mask & 1, bias = mask & 2, gelu = mask & 4,
                 res = mask & 8;
      std::vector<float> a(static_cast<size_t>(m) * n), b(a.size());
      ApplyEpilogue(Make(in, zp, bias, gelu, res, a.data()), in.acc.data(), n,
                    0, m, n, KernelIsa::kRef);
      ApplyEpilogue(Make(in, zp, bias, gelu, res, b.data()), in.acc.data(), n,
                    0, m, n, KernelIsa::kAvx2);
      if (!gelu) {
        ASSERT_EQ(a, b) << "n=" << n << " mask=" << mask;
      }
      for (int t = 0; t < m; ++t) {
        for (int j = 0; j < n; ++j) {
          const size_t i = static_cast<size_t>(t) * n + j;
          double c = in.acc[i];
          if (zp) c -= static_cast<double>(in.zp[t]) * in.col_sum[j];
          double y = c * in.sa[t] * in.sw[j];
          // Rounding errors scale with the operands, not the (possibly
          // cancelled) sum.
          double mag = std::fabs(y);
          if (bias) {
            y += in.bias[j];
            mag += std::fabs(in.bias[j]);
          }
          if (gelu) {
            const size_t at = i;
            ASSERT_NEAR(a[at], b[at],
                        kGeluTol * (1.0 + std::fabs(y)) +
                            (res ? 4 * FLT_EPSILON * 4.0 : 0.0))
                << "AVX2 GELU vs std::erf GELU, n=" << n << " mask=" << mask;
            y = 0.5 * y * (1.0 + std::erf(y / std::sqrt(2.0)));
          }
          double tol = kEpilogueUlps * FLT_EPSILON * (mag + std::fabs(y));
          if (res) {
            y += in.res[i];
            tol += kEpilogueUlps * FLT_EPSILON * (std::fabs(y) + 2.0);
          }
          ASSERT_NEAR(a[i], y, tol) << "n=" << n << " mask=" << mask;
        }
      }
    }
  }
}

TEST(EpilogueTest, InPlaceResidualAndRequant) {
  std::mt19937 rng(31);
  const int m = 4, n = 20;
  Inputs in = MakeInputs(m, n, rng);
  for (KernelIsa isa : {KernelIsa::kRef, KernelIsa::kAvx2}) {
    if (!IsaAvailable(isa)) continue;
    std::vector<float> sep(static_cast<size_t>(m) * n), inplace = in.res;
    ApplyEpilogue(Make(in, false, true, true, true, sep.data()), in.acc.data(),
                  n, 0, m, n, isa);
    Epilogue ep = Make(in, false, true, true, false, inplace.data());
    ep.residual = inplace.data();
    ep.ld_residual = n;
    std::vector<int8_t> q(static_cast<size_t>(m) * n);
    std::vector<float> qs(m);
    ep.requant = Epilogue::Requant::kDynamicSymmetric;
    ep.out_q = q.data();
    ep.ld_out_q = n;
    ep.out_q_scale = qs.data();
    ASSERT_TRUE(CheckEpilogue(ep, m, n).ok());
    ApplyEpilogue(ep, in.acc.data(), n, 0, m, n, isa);
    EXPECT_EQ(sep, inplace);  // same ISA: in-place == separate, bitwise
    for (int t = 0; t < m; ++t) {
      for (int j = 0; j < n; ++j) {
        EXPECT_NEAR(qs[t] * q[t * n + j], inplace[t * n + j], qs[t] * 0.5001f);
      }
    }
  }
}

TEST(EpilogueTest, DynamicRequantEqualsQuantizeRowsBitwise) {
  // The fused per-row requantization (row max gathered while the row is
  // computed) must give exactly QuantizeRowsSymmetric's codes and scales on
  // the fp32 rows, with or without storing those rows.
  std::mt19937 rng(37);
  for (KernelIsa isa : {KernelIsa::kRef, KernelIsa::kAvx2}) {
    if (!IsaAvailable(isa)) continue;
    for (int n : {20, 1024}) {
      const int m = 5;
      Inputs in = MakeInputs(m, n, rng);
      std::fill(in.acc.begin(), in.acc.begin() + n, 0);  // row 0: zero acc
      for (int mask = 0; mask < 8; ++mask) {
        const bool bias = mask & 1, gelu = mask & 2, res = mask & 4;
        std::vector<float> out(static_cast<size_t>(m) * n, -5.0f);
        Epilogue ep = Make(in, false, bias, gelu, res, out.data());
        std::vector<int8_t> q(out.size(), 77), q2(out.size(), 66);
        std::vector<float> qs(m, -1.0f), qs2(m, -2.0f);
        ep.requant = Epilogue::Requant::kDynamicSymmetric;
        ep.out_q = q.data();
        ep.ld_out_q = n;
        ep.out_q_scale = qs.data();
        ASSERT_TRUE(CheckEpilogue(ep, m, n).ok());
        ApplyEpilogue(ep, in.acc.data(), n, 0, m, n, isa);
        std::vector<int8_t> want_q(out.size());
        std::vector<float> want_s(m);
        ASSERT_TRUE(QuantizeRowsSymmetric(out.data(), m, n, n, want_q.data(), n,
                                          want_s.data(), isa)
                        .ok());
        EXPECT_EQ(q, want_q) << "n=" << n << " mask=" << mask;
        EXPECT_EQ(qs, want_s) << "n=" << n << " mask=" << mask;
        if (!bias && !res) {
          EXPECT_EQ(qs[0], 1.0f);  // all-zero row
        }
        // Without the fp32 output: same codes, in two row tiles.
        ep.out = nullptr;
        ep.out_q = q2.data();
        ep.out_q_scale = qs2.data();
        ASSERT_TRUE(CheckEpilogue(ep, m, n).ok());
        ApplyEpilogue(ep, in.acc.data(), n, 0, 2, n, isa);
        ApplyEpilogue(ep, in.acc.data() + 2 * n, n, 2, m - 2, n, isa);
        EXPECT_EQ(q2, want_q);
        EXPECT_EQ(qs2, want_s);
      }
    }
  }
}

TEST(EpilogueTest, Avx2GeluAccurateOverWideRange) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  // acc = i, scales 1: y sweeps [-12, 12] in steps of 1e-3 (tails, zero).
  const int n = 24001;
  std::vector<int32_t> acc(n);
  for (int i = 0; i < n; ++i) acc[i] = i - n / 2;
  const float sa = 1e-3f, sw = 1.0f;
  std::vector<float> sws(n, sw), a(n), b(n);
  Epilogue ep;
  ep.act_scale = &sa;
  ep.weight_scale = sws.data();
  ep.gelu = true;
  ep.ld_out = n;
  ep.out = a.data();
  ApplyEpilogue(ep, acc.data(), n, 0, 1, n, KernelIsa::kRef);
  ep.out = b.data();
  ApplyEpilogue(ep, acc.data(), n, 0, 1, n, KernelIsa::kAvx2);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double y = (i - n / 2) * 1e-3;
    const double err =
        std::fabs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::fabs(y));
    worst = std::max(worst, err);
  }
  EXPECT_LT(worst, kGeluTol);
}

TEST(EpilogueTest, CheckRejectsBadDescriptions) {
  std::vector<float> s(4, 1.0f), out(64);
  std::vector<int32_t> zp(4);
  Epilogue ep;
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());
  ep.act_scale = s.data();
  ep.weight_scale = s.data();
  ep.out = out.data();
  ep.ld_out = 4;
  EXPECT_TRUE(CheckEpilogue(ep, 2, 4).ok());
  EXPECT_FALSE(CheckEpilogue(ep, 2, 8).ok());  // ld_out < n
  ep.act_zero_point = zp.data();
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());  // needs col sums
  ep.act_zero_point = nullptr;
  ep.residual = out.data() + 2;  // partial overlap
  ep.ld_residual = 4;
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());
  ep.residual = nullptr;
  ep.requant = Epilogue::Requant::kStatic;
  std::vector<int8_t> q(64);
  ep.out_q = q.data();
  ep.ld_out_q = 4;
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());  // scale 0
  ep.requant_scale = 0.5f;
  EXPECT_TRUE(CheckEpilogue(ep, 2, 4).ok());
  ep.requant = Epilogue::Requant::kDynamicSymmetric;
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());  // needs out_q_scale
  ep.out_q_scale = s.data();
  ep.out = nullptr;  // fp32 output optional with requant
  EXPECT_TRUE(CheckEpilogue(ep, 2, 4).ok());
  ep.requant = Epilogue::Requant::kNone;
  EXPECT_FALSE(CheckEpilogue(ep, 2, 4).ok());  // but required without
}

}  // namespace
}  // namespace fastrel
