#include "engine/kernels/sparse_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/kernels/int8_dense.h"
#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/quantize.h"

namespace fastrel {
namespace {

using testing_util::Nmse;
using testing_util::RandomFloats;
using testing_util::RandomInts;
using testing_util::RandomSparse;

// Quantized linear layer (per-token s8 activations, per-channel s8 weights)
// vs the fp32 layer on uniform data: each operand carries ~(1/127)^2/3
// relative noise power (~2e-5), partly averaged out over K; 1e-3 bounds it
// with margin while still catching a wrong scale or index (NMSE ~ 1).
constexpr double kQuantizedLinearNmse = 1e-3;

// Ragged tails for every tile width (16 tokens; VNNI 4x1: 64 / 32 / 16).
const int kMs[] = {1, 7, 17, 33, 64, 100, 16 * 8 + 3};

struct Case {
  SparsePattern pattern;
  int n, k;
};

std::vector<Case> Cases() {
  std::vector<Case> c;
  for (int k : {32, 256, 1024, 33, 1})
    c.push_back({SparsePattern::kBlock4x1, 68, k});
  c.push_back({SparsePattern::kBlock4x1, 4, 100});
  for (SparsePattern p : {SparsePattern::k2of4, SparsePattern::k1of4}) {
    for (int k : {32, 256, 1024, 36, 4}) c.push_back({p, 48, k});
    c.push_back({p, 21, 100});  // N not a multiple of 16 / 8 / 4
    c.push_back({p, 3, 12});
  }
  return c;
}

class SparseGemmIsaTest : public ::testing::TestWithParam<KernelIsa> {
 protected:
  void SetUp() override {
    if (!IsaAvailable(GetParam())) {
      GTEST_SKIP() << KernelIsaName(GetParam()) << " not available on this CPU";
    }
  }
};

// Runs the int32 GEMM on raw activation bytes interpreted as `act`.
absl::Status RunInt32(const PackedSparseInt8& w, ActType act,
                      const std::vector<uint8_t>& x, int m, int64_t ldx,
                      int32_t* acc, int64_t ldc, KernelIsa isa) {
  if (act == ActType::kS8) {
    return SparseGemmInt32(w, reinterpret_cast<const int8_t*>(x.data()), m, ldx,
                           acc, ldc, isa);
  }
  return SparseGemmInt32(w, x.data(), m, ldx, acc, ldc, isa);
}

const char* ActName(ActType a) { return a == ActType::kS8 ? "s8" : "u8"; }

std::string Describe(const Case& c, int m) {
  return std::string(SparsePatternName(c.pattern)) + " m=" + std::to_string(m) +
         " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k);
}

TEST(SparseGemmRefTest, RefMatchesDenseReference) {
  std::mt19937 rng(20);
  for (const Case& c : Cases()) {
    auto wq = RandomSparse(c.pattern, c.n, c.k, 0.7, rng);
    auto w = PackedSparseInt8::Pack(c.pattern, wq.data(), c.n, c.k);
    ASSERT_TRUE(w.ok()) << w.status();
    const int m = 7;
    auto x = RandomInts<int8_t>(static_cast<size_t>(m) * c.k, -128, 127, rng);
    std::vector<int32_t> got(static_cast<size_t>(m) * c.n), want(got.size());
    ASSERT_TRUE(
        SparseGemmInt32(*w, x.data(), m, c.k, got.data(), c.n, KernelIsa::kRef)
            .ok());
    DenseInt8GemmRef(x.data(), ActType::kS8, m, c.k, c.k, wq.data(), c.n,
                     want.data(), c.n);
    EXPECT_EQ(got, want) << Describe(c, m);
  }
}

TEST_P(SparseGemmIsaTest, Int32ExactlyMatchesRef) {
  std::mt19937 rng(21);
  for (const Case& c : Cases()) {
    for (double sparsity : {0.0, 0.8}) {
      auto wq = RandomSparse(c.pattern, c.n, c.k, sparsity, rng);
      auto w = PackedSparseInt8::Pack(c.pattern, wq.data(), c.n, c.k);
      ASSERT_TRUE(w.ok()) << w.status();
      for (int m : kMs) {
        const int64_t ldx = c.k + 3, ldc = c.n + 5;  // strided rows
        auto x = RandomInts<uint8_t>(static_cast<size_t>(m) * ldx, 0, 255, rng);
        for (ActType act : {ActType::kS8, ActType::kU8}) {
          std::vector<int32_t> got(static_cast<size_t>(m) * ldc, -7),
              want(got.size(), -7);
          ASSERT_TRUE(
              RunInt32(*w, act, x, m, ldx, want.data(), ldc, KernelIsa::kRef)
                  .ok());
          ASSERT_TRUE(
              RunInt32(*w, act, x, m, ldx, got.data(), ldc, GetParam()).ok());
          ASSERT_EQ(got, want) << Describe(c, m) << " sparsity " << sparsity
                               << " " << ActName(act);
        }
      }
    }
  }
}

// All activations and weights at the extremes: proves no 16-bit saturation
// and no int32 overflow up to the largest K Pack accepts.
TEST_P(SparseGemmIsaTest, WorstCaseMagnitudesAreExact) {
  std::mt19937 rng(22);
  for (SparsePattern p :
       {SparsePattern::kBlock4x1, SparsePattern::k2of4, SparsePattern::k1of4}) {
    // m = 17 / 40: the VNNI 4x1 kernel's 32- and 64-token tiles.
    for (auto [k, m] : {std::pair{1024, 17}, {65532, 17}, {65532, 40}}) {
      const int n = 16;
      auto wq = RandomSparse(p, n, k, 0.0, rng, /*extreme=*/true);
      // Rows 0..3: all +127 (max positive sums), then random signs.
      for (int r = 0; r < 4; ++r) {
        for (int i = 0; i < k; ++i) {
          int8_t& v = wq[static_cast<size_t>(r) * k + i];
          if (v != 0) v = 127;
        }
      }
      auto w = PackedSparseInt8::Pack(p, wq.data(), n, k);
      ASSERT_TRUE(w.ok()) << w.status();
      const int64_t nnz_row0 = w->pattern() == SparsePattern::kBlock4x1
                                   ? k
                                   : k / 4 * w->nnz_per_group();
      for (ActType act : {ActType::kS8, ActType::kU8}) {
        // s8: token 0 all -128, token 1 all 127, others random extremes;
        // u8: token 0 all 255, token 1 all 0, others random extremes.
        const uint8_t lo = act == ActType::kS8 ? 0x80 : 255;
        const uint8_t hi = act == ActType::kS8 ? 127 : 0;
        std::vector<uint8_t> x(static_cast<size_t>(m) * k);
        for (int t = 0; t < m; ++t) {
          for (int i = 0; i < k; ++i) {
            x[static_cast<size_t>(t) * k + i] = t == 0 ? lo
                                                : t == 1
                                                    ? hi
                                                    : ((rng() & 1) ? hi : lo);
          }
        }
        std::vector<int32_t> got(static_cast<size_t>(m) * n), want(got.size());
        DenseInt8GemmRef(x.data(), act, m, k, k, wq.data(), n, want.data(), n);
        EXPECT_EQ(want[0], (act == ActType::kS8 ? -128 : 255) * 127 * nnz_row0);
        ASSERT_TRUE(RunInt32(*w, act, x, m, k, got.data(), n, GetParam()).ok());
        EXPECT_EQ(got, want)
            << SparsePatternName(p) << " k=" << k << " " << ActName(act);
      }
    }
  }
}

// Fused epilogue through the SIMD path is bit-identical to the reference GEMM
// followed by the same ISA's epilogue applied to the whole matrix (same
// integer sums, same float ops): checks the per-tile fusion and indexing.
// (Epilogue ISA-vs-reference accuracy is epilogue_test.cc's job.)
TEST_P(SparseGemmIsaTest, FusedEpilogueMatchesRefBitwise) {
  std::mt19937 rng(23);
  // m = 37: one partial tile; 150: several tiles (16 and 64 tokens) and a
  // ragged last one, so the epilogue sees every row offset m0.
  for (auto [p, m] : {std::pair{SparsePattern::kBlock4x1, 37},
                      {SparsePattern::kBlock4x1, 150},
                      {SparsePattern::k2of4, 37}}) {
    const int n = 64, k = 256;
    auto wq = RandomSparse(p, n, k, 0.8, rng);
    auto w = PackedSparseInt8::Pack(p, wq.data(), n, k);
    ASSERT_TRUE(w.ok());
    auto x = RandomInts<int8_t>(static_cast<size_t>(m) * k, -127, 127, rng);
    auto sa = RandomFloats(m, 0.001f, 0.05f, rng);
    auto sw = RandomFloats(n, 0.001f, 0.05f, rng);
    auto bias = RandomFloats(n, -1.0f, 1.0f, rng);
    auto res = RandomFloats(static_cast<size_t>(m) * n, -1.0f, 1.0f, rng);
    for (auto requant :
         {Epilogue::Requant::kNone, Epilogue::Requant::kDynamicSymmetric,
          Epilogue::Requant::kStatic}) {
      for (bool gelu : {false, true}) {
        std::vector<float> got(static_cast<size_t>(m) * n), want(got.size());
        std::vector<int8_t> gq(got.size()), wqn(got.size());
        std::vector<float> gs(m), ws(m);
        Epilogue ep;
        ep.act_scale = sa.data();
        ep.weight_scale = sw.data();
        ep.bias = bias.data();
        ep.gelu = gelu;
        ep.residual = res.data();
        ep.ld_residual = n;
        ep.ld_out = n;
        ep.requant = requant;
        ep.requant_scale = 0.02f;
        ep.ld_out_q = n;
        Epilogue ref = ep;
        ep.out = got.data();
        ep.out_q = gq.data();
        ep.out_q_scale = gs.data();
        ref.out = want.data();
        ref.out_q = wqn.data();
        ref.out_q_scale = ws.data();
        ASSERT_TRUE(SparseGemm(*w, x.data(), m, k, ep, GetParam()).ok());
        std::vector<int32_t> acc(static_cast<size_t>(m) * n);
        ASSERT_TRUE(
            SparseGemmInt32(*w, x.data(), m, k, acc.data(), n, KernelIsa::kRef)
                .ok());
        ApplyEpilogue(ref, acc.data(), n, 0, m, n, GetParam());
        EXPECT_EQ(got, want);
        if (requant != Epilogue::Requant::kNone) {
          EXPECT_EQ(gq, wqn);
        }
        if (requant == Epilogue::Requant::kDynamicSymmetric) {
          EXPECT_EQ(gs, ws);
        }
      }
    }
  }
}

// End to end accuracy: quantize fp32 activations, sparse int8 layer with
// dequantizing epilogue vs the fp32 layer with the same (sparse) weights.
TEST_P(SparseGemmIsaTest, QuantizedLinearCloseToFp32) {
  std::mt19937 rng(24);
  const int n = 128, k = 256, m = 33;
  auto wq = RandomSparse(SparsePattern::kBlock4x1, n, k, 0.8, rng);
  auto w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
  ASSERT_TRUE(w.ok());
  auto sw = RandomFloats(n, 0.001f, 0.01f, rng);
  auto bias = RandomFloats(n, -0.1f, 0.1f, rng);
  auto xf = RandomFloats(static_cast<size_t>(m) * k, -2.0f, 2.0f, rng);
  std::vector<int8_t> xq(xf.size());
  std::vector<float> sa(m);
  ASSERT_TRUE(
      QuantizeRowsSymmetric(xf.data(), m, k, k, xq.data(), k, sa.data()).ok());
  std::vector<float> y(static_cast<size_t>(m) * n), want(y.size());
  Epilogue ep;
  ep.act_scale = sa.data();
  ep.weight_scale = sw.data();
  ep.bias = bias.data();
  ep.out = y.data();
  ep.ld_out = n;
  ASSERT_TRUE(SparseGemm(*w, xq.data(), m, k, ep, GetParam()).ok());
  for (int t = 0; t < m; ++t) {
    for (int j = 0; j < n; ++j) {
      double s = bias[j];
      for (int i = 0; i < k; ++i) {
        s += static_cast<double>(xf[static_cast<size_t>(t) * k + i]) * sw[j] *
             wq[static_cast<size_t>(j) * k + i];
      }
      want[static_cast<size_t>(t) * n + j] = static_cast<float>(s);
    }
  }
  EXPECT_LT(Nmse(y, want), kQuantizedLinearNmse);
}

// Asymmetric u8 activations through the fused path: zero points removed by
// the epilogue with the packed col_sums(); bit-identical to the reference
// GEMM + same-ISA epilogue, and close to fp32.
TEST_P(SparseGemmIsaTest, AsymmetricActivationsPipeline) {
  std::mt19937 rng(26);
  for (SparsePattern p : {SparsePattern::kBlock4x1, SparsePattern::k2of4}) {
    const int n = 40, k = 96, m = 21;
    auto wq = RandomSparse(p, n, k, 0.7, rng);
    auto w = PackedSparseInt8::Pack(p, wq.data(), n, k);
    ASSERT_TRUE(w.ok());
    auto sw = RandomFloats(n, 0.001f, 0.01f, rng);
    auto xf = RandomFloats(static_cast<size_t>(m) * k, -0.2f, 3.0f, rng);
    std::vector<uint8_t> xq(xf.size());
    std::vector<float> sa(m);
    std::vector<int32_t> zp(m);
    ASSERT_TRUE(QuantizeRowsAsymmetric(xf.data(), m, k, k, xq.data(), k,
                                       sa.data(), zp.data())
                    .ok());
    std::vector<float> y(static_cast<size_t>(m) * n), y_ref(y.size()),
        want(y.size());
    Epilogue ep;
    ep.act_scale = sa.data();
    ep.act_zero_point = zp.data();
    ep.weight_col_sum = w->col_sums().data();
    ep.weight_scale = sw.data();
    ep.out = y.data();
    ep.ld_out = n;
    ASSERT_TRUE(SparseGemm(*w, xq.data(), m, k, ep, GetParam()).ok());
    std::vector<int32_t> acc(static_cast<size_t>(m) * n);
    ASSERT_TRUE(
        SparseGemmInt32(*w, xq.data(), m, k, acc.data(), n, KernelIsa::kRef)
            .ok());
    Epilogue ref = ep;
    ref.out = y_ref.data();
    ApplyEpilogue(ref, acc.data(), n, 0, m, n, GetParam());
    EXPECT_EQ(y, y_ref);
    for (int t = 0; t < m; ++t) {
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int i = 0; i < k; ++i) {
          s += static_cast<double>(xf[static_cast<size_t>(t) * k + i]) * sw[j] *
               wq[static_cast<size_t>(j) * k + i];
        }
        want[static_cast<size_t>(t) * n + j] = static_cast<float>(s);
      }
    }
    EXPECT_LT(Nmse(y, want), kQuantizedLinearNmse) << SparsePatternName(p);
  }
}

TEST_P(SparseGemmIsaTest, RestoredWeightsGiveSameResults) {
  std::mt19937 rng(25);
  for (SparsePattern p : {SparsePattern::kBlock4x1, SparsePattern::k1of4}) {
    const int n = 32, k = 64, m = 19;
    auto wq = RandomSparse(p, n, k, 0.5, rng);
    auto w = PackedSparseInt8::Pack(p, wq.data(), n, k);
    ASSERT_TRUE(w.ok());
    auto r = PackedSparseInt8::FromBytes(w->ToBytes());
    ASSERT_TRUE(r.ok());
    auto x = RandomInts<int8_t>(static_cast<size_t>(m) * k, -128, 127, rng);
    std::vector<int32_t> a(static_cast<size_t>(m) * n), b(a.size());
    ASSERT_TRUE(
        SparseGemmInt32(*w, x.data(), m, k, a.data(), n, GetParam()).ok());
    ASSERT_TRUE(
        SparseGemmInt32(*r, x.data(), m, k, b.data(), n, GetParam()).ok());
    EXPECT_EQ(a, b);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, SparseGemmIsaTest,
                         ::testing::Values(KernelIsa::kAvx2,
                                           KernelIsa::kAvx512Vnni),
                         [](const auto& info) {
                           return std::string(KernelIsaName(info.param));
                         });

TEST(SparseGemmTest, BadArguments) {
  std::vector<int8_t> wq(16 * 16, 1);
  auto w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), 16, 16);
  ASSERT_TRUE(w.ok());
  std::vector<int8_t> x(16 * 16);
  std::vector<int32_t> acc(16 * 16);
  EXPECT_FALSE(SparseGemmInt32(*w, x.data(), 2, 8, acc.data(), 16).ok());
  EXPECT_FALSE(SparseGemmInt32(*w, x.data(), 2, 16, acc.data(), 8).ok());
  EXPECT_FALSE(SparseGemmInt32(*w, static_cast<const int8_t*>(nullptr), 2, 16,
                               acc.data(), 16)
                   .ok());
  EXPECT_FALSE(SparseGemmInt32(*w, x.data(), -1, 16, acc.data(), 16).ok());
  EXPECT_TRUE(SparseGemmInt32(*w, static_cast<const int8_t*>(nullptr), 0, 16,
                              nullptr, 16)
                  .ok());
  Epilogue ep;  // missing scales and output
  EXPECT_FALSE(SparseGemm(*w, x.data(), 2, 16, ep).ok());
}

}  // namespace
}  // namespace fastrel
