// The AVX-512 epilogue rows (epilogue_avx512.cc) against the AVX2 rows: the
// same IEEE operations per element, so every option combination (GELU
// included) must be bit-identical, codes and scales of the requantization
// too. The AVX2 rows are themselves tested against the scalar reference in
// epilogue_test.cc.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/epilogue.h"
#include "engine/kernels/int8_test_util.h"

namespace fastrel {
namespace {

using testing_util::RandomFloats;
using testing_util::RandomInts;

// Bitwise float comparison (also tells -0 from +0 and NaN payloads apart).
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(EpilogueAvx512Test, BitwiseEqualsAvx2ForEveryOptionAndTail) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(512);
  for (int n : {1, 7, 15, 16, 17, 31, 33, 67, 256, 1024}) {
    const int m = 4;
    const size_t mn = static_cast<size_t>(m) * n;
    // Accumulators wide enough that GELU inputs span roughly [-8, 8] and
    // beyond the erf clamp at |x / sqrt 2| = 4.
    const std::vector<int32_t> acc =
        RandomInts<int32_t>(mn, -900000, 900000, rng);
    const std::vector<int32_t> zp = RandomInts<int32_t>(m, 0, 255, rng);
    const std::vector<int32_t> col_sum =
        RandomInts<int32_t>(n, -3000, 3000, rng);
    const std::vector<float> sa = RandomFloats(m, 1e-3f, 1e-2f, rng);
    const std::vector<float> sw = RandomFloats(n, 1e-3f, 1e-2f, rng);
    const std::vector<float> bias = RandomFloats(n, -2.0f, 2.0f, rng);
    const std::vector<float> res = RandomFloats(mn, -2.0f, 2.0f, rng);
    for (int mask = 0; mask < 32; ++mask) {
      const bool requant = (mask & 16) != 0;
      auto run = [&](KernelIsa isa, std::vector<float>* out,
                     std::vector<int8_t>* q, std::vector<float>* qs) {
        out->assign(mn, -1.0f);
        q->assign(mn, 0);
        qs->assign(m, 0.0f);
        Epilogue ep;
        ep.act_scale = sa.data();
        ep.weight_scale = sw.data();
        if (mask & 1) {
          ep.act_zero_point = zp.data();
          ep.weight_col_sum = col_sum.data();
        }
        if (mask & 2) ep.bias = bias.data();
        ep.gelu = (mask & 4) != 0;
        if (mask & 8) {
          ep.residual = res.data();
          ep.ld_residual = n;
        }
        ep.out = out->data();
        ep.ld_out = n;
        if (requant) {
          ep.requant = Epilogue::Requant::kDynamicSymmetric;
          ep.out_q = q->data();
          ep.ld_out_q = n;
          ep.out_q_scale = qs->data();
        }
        ASSERT_TRUE(CheckEpilogue(ep, m, n).ok());
        ApplyEpilogue(ep, acc.data(), n, 0, m, n, isa);
      };
      std::vector<float> a, b, as, bs;
      std::vector<int8_t> aq, bq;
      run(KernelIsa::kAvx2, &a, &aq, &as);
      run(KernelIsa::kAvx512Vnni, &b, &bq, &bs);
      ASSERT_TRUE(SameBits(a, b)) << "n=" << n << " mask=" << mask;
      ASSERT_EQ(aq, bq) << "n=" << n << " mask=" << mask;
      ASSERT_TRUE(SameBits(as, bs)) << "n=" << n << " mask=" << mask;
    }
  }
}

// The masked tail must not write past the row (nor the last row's end).
TEST(EpilogueAvx512Test, TailWritesOnlyTheRow) {
  if (!IsaAvailable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(7);
  const int n = 21, ld = 40;
  const std::vector<int32_t> acc = RandomInts<int32_t>(n, -1000, 1000, rng);
  const std::vector<float> sa = {0.01f};
  const std::vector<float> sw = RandomFloats(n, 1e-3f, 1e-2f, rng);
  std::vector<float> out(ld, 123.0f);
  Epilogue ep;
  ep.act_scale = sa.data();
  ep.weight_scale = sw.data();
  ep.gelu = true;
  ep.out = out.data();
  ep.ld_out = ld;
  ApplyEpilogue(ep, acc.data(), n, 0, 1, n, KernelIsa::kAvx512Vnni);
  for (int j = n; j < ld; ++j) ASSERT_EQ(out[j], 123.0f) << j;
}

}  // namespace
}  // namespace fastrel
