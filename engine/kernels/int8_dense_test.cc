#include "engine/kernels/int8_dense.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/quantize.h"

namespace fastrel {
namespace {

using testing_util::Nmse;
using testing_util::RandomFloats;
using testing_util::RandomInts;

// Asymmetric u8 per-token activations + s8 per-channel weights vs fp32: the
// same argument as kQuantizedLinearNmse in sparse_gemm_test.cc.
constexpr double kQuantizedLinearNmse = 1e-3;

bool VnniClass() {
  const CpuFeatures& f = GetCpuFeatures();
  return f.avx512_vnni || f.avx_vnni || f.amx_int8;
}

const char* BackendName(DenseBackend b) {
  switch (b) {
    case DenseBackend::kAuto:
      return "auto";
    case DenseBackend::kOneDnn:
      return "onednn";
    case DenseBackend::kAvx2:
      return "avx2";
    case DenseBackend::kRef:
      return "ref";
  }
  return "?";
}

class DenseInt8Test : public ::testing::TestWithParam<DenseBackend> {
 protected:
  void SetUp() override {
    omp_set_num_threads(1);
    // oneDNN 2.6 int8 saturates without VNNI (int8_dense.h): only exact,
    // hence only tested, on VNNI-class CPUs.
    if (GetParam() == DenseBackend::kOneDnn && !VnniClass()) {
      GTEST_SKIP() << "oneDNN int8 is not exact without VNNI on this CPU";
    }
    if (GetParam() == DenseBackend::kAvx2 && !GetCpuFeatures().avx2) {
      GTEST_SKIP() << "no AVX2";
    }
  }
};

TEST_P(DenseInt8Test, MatchesRefExactly) {
  std::mt19937 rng(40);
  for (ActType act : {ActType::kS8, ActType::kU8}) {
    for (int k : {32, 256, 1024, 33}) {
      for (int n : {4, 64, 30}) {
        auto wq =
            RandomInts<int8_t>(static_cast<size_t>(n) * k, -127, 127, rng);
        auto g = DenseInt8Gemm::Create(wq.data(), n, k, act, GetParam());
        ASSERT_TRUE(g.ok()) << g.status();
        for (int m : {1, 7, 33, 131}) {
          const int64_t ldx = k + 1, ldc = n + 2;
          // Full byte range: every s8 / u8 value.
          auto x =
              RandomInts<uint8_t>(static_cast<size_t>(m) * ldx, 0, 255, rng);
          std::vector<int32_t> got(static_cast<size_t>(m) * ldc, 0),
              want(got.size(), 0);
          ASSERT_TRUE(g->RunInt32(x.data(), m, ldx, got.data(), ldc).ok());
          DenseInt8GemmRef(x.data(), act, m, k, ldx, wq.data(), n, want.data(),
                           ldc);
          ASSERT_EQ(got, want) << "m=" << m << " n=" << n << " k=" << k
                               << " impl=" << g->impl_name();
        }
      }
    }
  }
}

TEST_P(DenseInt8Test, WorstCaseMagnitudes) {
  const int m = 9, n = 8, k = 4096;
  std::vector<int8_t> wq(static_cast<size_t>(n) * k, 127);
  for (int i = 0; i < k; ++i) wq[static_cast<size_t>(k) + i] = -127;
  for (ActType act : {ActType::kS8, ActType::kU8}) {
    auto g = DenseInt8Gemm::Create(wq.data(), n, k, act, GetParam());
    ASSERT_TRUE(g.ok());
    std::vector<uint8_t> x(static_cast<size_t>(m) * k,
                           act == ActType::kS8 ? 0x80 : 255);
    std::vector<int32_t> got(static_cast<size_t>(m) * n), want(got.size());
    ASSERT_TRUE(g->RunInt32(x.data(), m, k, got.data(), n).ok());
    DenseInt8GemmRef(x.data(), act, m, k, k, wq.data(), n, want.data(), n);
    EXPECT_EQ(want[0], (act == ActType::kS8 ? -128 : 255) * 127 * k);
    EXPECT_EQ(got, want);
  }
}

TEST_P(DenseInt8Test, AsymmetricPipelineCloseToFp32) {
  std::mt19937 rng(41);
  const int m = 40, n = 48, k = 300;
  auto wf = RandomFloats(static_cast<size_t>(n) * k, -1.0f, 1.0f, rng);
  std::vector<int8_t> wq(wf.size());
  std::vector<float> sw(n);
  ASSERT_TRUE(
      QuantizeRowsSymmetric(wf.data(), n, k, k, wq.data(), k, sw.data()).ok());
  auto g = DenseInt8Gemm::Create(wq.data(), n, k, ActType::kU8, GetParam());
  ASSERT_TRUE(g.ok());
  auto xf = RandomFloats(static_cast<size_t>(m) * k, -0.5f, 3.0f,
                         rng);  // GELU-like skew
  std::vector<uint8_t> xq(xf.size());
  std::vector<float> sa(m);
  std::vector<int32_t> zp(m);
  ASSERT_TRUE(QuantizeRowsAsymmetric(xf.data(), m, k, k, xq.data(), k,
                                     sa.data(), zp.data())
                  .ok());
  auto bias = RandomFloats(n, -1.0f, 1.0f, rng);
  std::vector<float> y(static_cast<size_t>(m) * n), y_ref(y.size()),
      want(y.size());
  Epilogue ep;
  ep.act_scale = sa.data();
  ep.act_zero_point = zp.data();
  ep.weight_col_sum = g->col_sums().data();
  ep.weight_scale = sw.data();
  ep.bias = bias.data();
  ep.out = y.data();
  ep.ld_out = n;
  ASSERT_TRUE(g->Run(xq.data(), m, k, ep).ok());
  // Same integer sums and op order as the reference path: bitwise equal.
  std::vector<int32_t> acc(static_cast<size_t>(m) * n);
  DenseInt8GemmRef(xq.data(), ActType::kU8, m, k, k, wq.data(), n, acc.data(),
                   n);
  Epilogue ref = ep;
  ref.out = y_ref.data();
  ApplyEpilogue(ref, acc.data(), n, 0, m, n, KernelIsa::kRef);
  EXPECT_EQ(y, y_ref);
  for (int t = 0; t < m; ++t) {
    for (int j = 0; j < n; ++j) {
      double s = bias[j];
      for (int i = 0; i < k; ++i) {
        s += static_cast<double>(xf[static_cast<size_t>(t) * k + i]) *
             wf[static_cast<size_t>(j) * k + i];
      }
      want[static_cast<size_t>(t) * n + j] = static_cast<float>(s);
    }
  }
  EXPECT_LT(Nmse(y, want), kQuantizedLinearNmse);
}

TEST_P(DenseInt8Test, RejectsBadInput) {
  std::vector<int8_t> wq(16, 1);
  EXPECT_FALSE(DenseInt8Gemm::Create(wq.data(), 0, 16, ActType::kS8).ok());
  EXPECT_FALSE(DenseInt8Gemm::Create(nullptr, 1, 16, ActType::kS8).ok());
  wq[3] = -128;
  EXPECT_FALSE(DenseInt8Gemm::Create(wq.data(), 1, 16, ActType::kS8).ok());
  wq[3] = 0;
  auto g = DenseInt8Gemm::Create(wq.data(), 1, 16, ActType::kS8, GetParam());
  ASSERT_TRUE(g.ok());
  std::vector<int32_t> acc(4);
  std::vector<int8_t> x(64);
  EXPECT_FALSE(g->RunInt32(x.data(), 2, 8, acc.data(), 1).ok());
  EXPECT_TRUE(g->RunInt32(x.data(), 0, 16, acc.data(), 1).ok());
}

TEST(DenseInt8AutoTest, AutoPicksAnExactBackend) {
  std::vector<int8_t> wq(64, 1);
  auto g = DenseInt8Gemm::Create(wq.data(), 4, 16, ActType::kU8);
  ASSERT_TRUE(g.ok());
  if (VnniClass()) {
    EXPECT_EQ(g->backend(), DenseBackend::kOneDnn) << g->impl_name();
  } else {
    EXPECT_NE(g->backend(), DenseBackend::kOneDnn) << g->impl_name();
  }
}

INSTANTIATE_TEST_SUITE_P(Backend, DenseInt8Test,
                         ::testing::Values(DenseBackend::kOneDnn,
                                           DenseBackend::kAvx2,
                                           DenseBackend::kAuto),
                         [](const auto& info) {
                           return std::string(BackendName(info.param));
                         });

}  // namespace
}  // namespace fastrel
