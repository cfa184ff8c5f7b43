#include "engine/kernels/sparse_ffn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel {
namespace {

using testing_util::RandomFloats;
using testing_util::RandomInts;
using testing_util::RandomSparse;

class SparseFfnTest : public ::testing::TestWithParam<KernelIsa> {
 protected:
  void SetUp() override {
    if (!IsaAvailable(GetParam())) {
      GTEST_SKIP() << KernelIsaName(GetParam()) << " not available on this CPU";
    }
  }
};

struct Pair {
  PackedSparseInt8 w1, w2;
};

Pair MakePair(int k, int n1, int n2, std::mt19937& rng) {
  auto q1 = RandomSparse(SparsePattern::kBlock4x1, n1, k, 0.8, rng);
  auto q2 = RandomSparse(SparsePattern::kBlock4x1, n2, n1, 0.8, rng);
  auto w1 = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, q1.data(), n1, k);
  auto w2 = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, q2.data(), n2, n1);
  EXPECT_TRUE(w1.ok() && w2.ok());
  return {std::move(*w1), std::move(*w2)};
}

// The unfused path the fused pair must reproduce bit for bit: the first
// GEMM with per-token requantization, then the second on its codes.
void Unfused(const Pair& p, const std::vector<int8_t>& x, int m,
             const Epilogue& ep1, Epilogue ep2, KernelIsa isa) {
  const int n1 = p.w1.n();
  std::vector<int8_t> codes(static_cast<size_t>(m) * n1);
  std::vector<float> scales(m);
  Epilogue e1 = ep1;
  e1.requant = Epilogue::Requant::kDynamicSymmetric;
  e1.out_q = codes.data();
  e1.ld_out_q = n1;
  e1.out_q_scale = scales.data();
  ASSERT_TRUE(SparseGemm(p.w1, x.data(), m, p.w1.k(), e1, isa).ok());
  ep2.act_scale = scales.data();
  ASSERT_TRUE(SparseGemm(p.w2, codes.data(), m, n1, ep2, isa).ok());
}

TEST_P(SparseFfnTest, MatchesUnfusedPathBitwise) {
  std::mt19937 rng(31);
  struct Shape {
    int k, n1, n2;
  };
  // The demo model's FFN (256 -> 1024 -> 256), a K with a ragged 16-byte
  // transposition tail, and N2 = 1024 (the padded int32 tile stride).
  for (Shape s :
       {Shape{256, 1024, 256}, Shape{36, 64, 68}, Shape{64, 32, 1024}}) {
    const Pair p = MakePair(s.k, s.n1, s.n2, rng);
    // AVX2 tiles are 16 tokens, VNNI 64 (a last tile of <= 32 runs
    // unfused): one token, whole tiles and ragged last tiles of both kinds.
    for (int m : {1, 7, 16, 37, 48, 64, 100, 150}) {
      auto x = RandomInts<int8_t>(static_cast<size_t>(m) * s.k, -127, 127, rng);
      // An all-zero token: with no bias its h is all 0 (max 0: codes 0,
      // scale 1, the special case of the per-token quantization).
      std::fill(x.begin(), x.begin() + s.k, int8_t{0});
      auto sa = RandomFloats(m, 0.001f, 0.05f, rng);
      auto sw1 = RandomFloats(s.n1, 0.001f, 0.05f, rng);
      auto b1 = RandomFloats(s.n1, -1.0f, 1.0f, rng);
      auto sw2 = RandomFloats(s.n2, 0.001f, 0.05f, rng);
      auto b2 = RandomFloats(s.n2, -1.0f, 1.0f, rng);
      auto res = RandomFloats(static_cast<size_t>(m) * s.n2, -1.0f, 1.0f, rng);
      for (bool bias : {false, true}) {
        for (bool gelu : {false, true}) {
          SCOPED_TRACE(
              "k=" + std::to_string(s.k) + " n1=" + std::to_string(s.n1) +
              " n2=" + std::to_string(s.n2) + " m=" + std::to_string(m) +
              " bias=" + std::to_string(bias) +
              " gelu=" + std::to_string(gelu));
          Epilogue ep1;
          ep1.act_scale = sa.data();
          ep1.weight_scale = sw1.data();
          ep1.bias = bias ? b1.data() : nullptr;
          ep1.gelu = gelu;
          std::vector<float> got(static_cast<size_t>(m) * s.n2),
              want(got.size());
          std::vector<int8_t> got_q(got.size()), want_q(got.size());
          std::vector<float> got_s(m), want_s(m);
          Epilogue ep2;
          ep2.weight_scale = sw2.data();
          ep2.bias = b2.data();
          ep2.residual = res.data();
          ep2.ld_residual = s.n2;
          ep2.ld_out = s.n2;
          ep2.requant = Epilogue::Requant::kDynamicSymmetric;
          ep2.ld_out_q = s.n2;
          Epilogue want_ep2 = ep2;
          ep2.out = got.data();
          ep2.out_q = got_q.data();
          ep2.out_q_scale = got_s.data();
          want_ep2.out = want.data();
          want_ep2.out_q = want_q.data();
          want_ep2.out_q_scale = want_s.data();
          ASSERT_TRUE(
              SparseFfn(p.w1, p.w2, x.data(), m, s.k, ep1, ep2, GetParam())
                  .ok());
          Unfused(p, x, m, ep1, want_ep2, GetParam());
          EXPECT_EQ(got, want);
          EXPECT_EQ(got_q, want_q);
          EXPECT_EQ(got_s, want_s);
        }
      }
    }
  }
}

TEST_P(SparseFfnTest, RowStrideAndZeroRows) {
  std::mt19937 rng(32);
  const Pair p = MakePair(64, 128, 32, rng);
  const int m = 70, ldx = 80;  // VNNI: one fused tile and an unfused tail
  auto x = RandomInts<int8_t>(static_cast<size_t>(m) * ldx, -127, 127, rng);
  auto sa = RandomFloats(m, 0.001f, 0.05f, rng);
  auto sw1 = RandomFloats(128, 0.001f, 0.05f, rng);
  auto sw2 = RandomFloats(32, 0.001f, 0.05f, rng);
  Epilogue ep1;
  ep1.act_scale = sa.data();
  ep1.weight_scale = sw1.data();
  ep1.gelu = true;
  std::vector<float> out(static_cast<size_t>(m) * 32, -7.0f);
  Epilogue ep2;
  ep2.weight_scale = sw2.data();
  ep2.out = out.data();
  ep2.ld_out = 32;
  ASSERT_TRUE(
      SparseFfn(p.w1, p.w2, x.data(), m, ldx, ep1, ep2, GetParam()).ok());
  // Against the unfused path on a compacted copy of x (stride k).
  std::vector<int8_t> xc(static_cast<size_t>(m) * 64);
  for (int r = 0; r < m; ++r) {
    std::copy_n(x.begin() + r * ldx, 64, xc.begin() + r * 64);
  }
  std::vector<float> want(out.size());
  Epilogue w2 = ep2;
  w2.out = want.data();
  Unfused(p, xc, m, ep1, w2, GetParam());
  EXPECT_EQ(out, want);
  // m = 0 writes nothing.
  std::vector<float> untouched(out.size(), -7.0f);
  ep2.out = untouched.data();
  ASSERT_TRUE(
      SparseFfn(p.w1, p.w2, x.data(), 0, ldx, ep1, ep2, GetParam()).ok());
  EXPECT_EQ(untouched, std::vector<float>(out.size(), -7.0f));
}

TEST_P(SparseFfnTest, BadArguments) {
  std::mt19937 rng(33);
  const Pair p = MakePair(32, 64, 16, rng);
  auto x = RandomInts<int8_t>(4 * 32, -127, 127, rng);
  std::vector<float> sa(4, 0.01f), sw1(64, 0.01f), sw2(16, 0.01f), out(64);
  Epilogue ep1;
  ep1.act_scale = sa.data();
  ep1.weight_scale = sw1.data();
  Epilogue ep2;
  ep2.weight_scale = sw2.data();
  ep2.out = out.data();
  ep2.ld_out = 16;
  ASSERT_TRUE(
      SparseFfn(p.w1, p.w2, x.data(), 4, 32, ep1, ep2, GetParam()).ok());
  auto expect_bad = [&](const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                        const Epilogue& e1, const Epilogue& e2, int m,
                        int64_t ldx, KernelIsa isa, const std::string& what) {
    const absl::Status s = SparseFfn(w1, w2, x.data(), m, ldx, e1, e2, isa);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_NE(s.message().find("sparse ffn"), std::string::npos) << s;
  };
  // Shapes that do not chain (w2 after w2: 16 outputs into 64 inputs).
  expect_bad(p.w2, p.w2, ep1, ep2, 4, 32, GetParam(), "shape");
  // N:M weights have no fused kernel.
  auto nm = RandomSparse(SparsePattern::k2of4, 64, 32, 0.5, rng);
  auto w_nm = PackedSparseInt8::Pack(SparsePattern::k2of4, nm.data(), 64, 32);
  ASSERT_TRUE(w_nm.ok());
  expect_bad(*w_nm, p.w2, ep1, ep2, 4, 32, GetParam(), "2:4");
  expect_bad(p.w1, p.w2, ep1, ep2, 4, 32, KernelIsa::kRef, "ref isa");
  expect_bad(p.w1, p.w2, ep1, ep2, -1, 32, GetParam(), "m < 0");
  expect_bad(p.w1, p.w2, ep1, ep2, 4, 31, GetParam(), "ldx < k");
  Epilogue e = ep1;
  e.residual = out.data();
  e.ld_residual = 64;
  expect_bad(p.w1, p.w2, e, ep2, 4, 32, GetParam(), "ep1 residual");
  e = ep1;
  e.act_scale_per_tensor = true;
  expect_bad(p.w1, p.w2, e, ep2, 4, 32, GetParam(), "per tensor");
  e = ep2;
  e.act_scale = sa.data();
  expect_bad(p.w1, p.w2, ep1, e, 4, 32, GetParam(), "ep2 act_scale");
  e = ep2;
  e.out = nullptr;
  expect_bad(p.w1, p.w2, ep1, e, 4, 32, GetParam(), "ep2 no output");
}

INSTANTIATE_TEST_SUITE_P(Isa, SparseFfnTest,
                         ::testing::Values(KernelIsa::kAvx2,
                                           KernelIsa::kAvx512Vnni),
                         [](const auto& info) {
                           return std::string(KernelIsaName(info.param));
                         });

}  // namespace
}  // namespace fastrel
