#include "engine/kernels/fp32_kernels.h"

#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

// Tolerances of the AVX2 kernels against their scalar references. The SIMD
// versions use fp32 accumulators and polynomial exp/erf (~1e-7 absolute
// error), the references double accumulators and libm.
constexpr float kLayerNormTol = 2e-5f;  // outputs are O(1..5)
constexpr float kGeluTol = 2e-6f;       // absolute + relative, see Near()
constexpr float kTanhTol = 1e-6f;
constexpr float kSoftmaxTol = 1e-6f;  // probabilities in [0, 1]
constexpr float kAttentionCtxTol = 1e-5f;

bool Near(float a, float b, float tol) {
  return std::fabs(a - b) <= tol * (1.0f + std::fabs(b));
}

std::vector<float> Random(std::mt19937* rng, size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

void SkipWithoutAvx2() {
  if (!GetCpuFeatures().avx2) GTEST_SKIP() << "CPU lacks AVX2";
}

TEST(Fp32KernelsTest, ReferenceValues) {
  float g[3] = {-1.0f, 0.0f, 1.0f};
  GeluErf_ref(g, 3);
  EXPECT_NEAR(g[0], -0.15865525f, 1e-7f);
  EXPECT_EQ(g[1], 0.0f);
  EXPECT_NEAR(g[2], 0.84134475f, 1e-7f);
  float s[3] = {0.0f, 0.0f, std::log(2.0f)};
  SoftmaxRows_ref(s, 1, 3, 3);
  EXPECT_NEAR(s[0], 0.25f, 1e-7f);
  EXPECT_NEAR(s[2], 0.5f, 1e-7f);
  float x[4] = {1, 2, 3, 4}, gamma[4] = {1, 1, 1, 2}, beta[4] = {0, 0, 0, 1};
  LayerNorm_ref(x, 1, 4, 4, gamma, beta, 0.0f, x);
  EXPECT_NEAR(x[0], -1.3416408f, 1e-6f);
  EXPECT_NEAR(x[3], 2 * 1.3416408f + 1, 1e-6f);
}

TEST(Fp32KernelsTest, LayerNormAvx2MatchesRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(1);
  for (int cols : {8, 64, 256, 768, 20}) {
    for (int rows : {1, 3, 17}) {
      const int ld = cols + 8;
      auto x = Random(&rng, static_cast<size_t>(rows) * ld, 3.0f);
      for (size_t i = 0; i < x.size(); ++i) x[i] += 5.0f;  // non-zero mean
      auto gamma = Random(&rng, cols, 1.0f), beta = Random(&rng, cols, 1.0f);
      std::vector<float> a(x.size()), b(x.size());
      LayerNorm_ref(x.data(), rows, cols, ld, gamma.data(), beta.data(), 1e-12f,
                    a.data());
      LayerNorm_avx2(x.data(), rows, cols, ld, gamma.data(), beta.data(),
                     1e-12f, b.data());
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          const size_t i = static_cast<size_t>(r) * ld + c;
          ASSERT_NEAR(a[i], b[i], kLayerNormTol) << rows << "x" << cols;
        }
      }
      // In place gives the same result.
      LayerNorm_avx2(x.data(), rows, cols, ld, gamma.data(), beta.data(),
                     1e-12f, x.data());
      for (int c = 0; c < cols; ++c) ASSERT_FLOAT_EQ(x[c], b[c]);
    }
  }
}

TEST(Fp32KernelsTest, GeluAndTanhAvx2MatchRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(2);
  for (long n : {1L, 7L, 8L, 1000L, 4099L}) {
    auto x = Random(&rng, n, 4.0f);
    x[0] = -12.0f;  // saturated tails
    if (n > 1) x[1] = 12.0f;
    auto a = x, b = x;
    GeluErf_ref(a.data(), n);
    GeluErf_avx2(b.data(), n);
    for (long i = 0; i < n; ++i)
      ASSERT_TRUE(Near(b[i], a[i], kGeluTol))
          << x[i] << ": " << a[i] << " vs " << b[i];
    a = x;
    b = x;
    Tanh_ref(a.data(), n);
    Tanh_avx2(b.data(), n);
    for (long i = 0; i < n; ++i) ASSERT_NEAR(b[i], a[i], kTanhTol) << x[i];
  }
}

TEST(Fp32KernelsTest, SoftmaxAvx2MatchesRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(3);
  for (int cols : {1, 5, 8, 13, 128}) {
    const int rows = 9, ld = cols + 3;
    auto x = Random(&rng, static_cast<size_t>(rows) * ld, 10.0f);
    auto a = x, b = x;
    SoftmaxRows_ref(a.data(), rows, cols, ld);
    SoftmaxRows_avx2(b.data(), rows, cols, ld);
    for (int r = 0; r < rows; ++r) {
      float sum = 0;
      for (int c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r) * ld + c;
        ASSERT_NEAR(a[i], b[i], kSoftmaxTol);
        sum += b[i];
      }
      ASSERT_NEAR(sum, 1.0f, 1e-5f);
    }
  }
}

TEST(Fp32KernelsTest, AttentionHeadAvx2MatchesRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(4);
  for (int dh : {8, 16, 24, 32, 64, 128, 12}) {
    for (int n : {1, 3, 4, 37, 75, 128}) {
      const int heads = 3, ld = dh * heads;
      auto q = Random(&rng, static_cast<size_t>(n) * ld, 1.0f);
      auto k = Random(&rng, static_cast<size_t>(n) * ld, 1.0f);
      auto v = Random(&rng, static_cast<size_t>(n) * ld, 1.0f);
      const int h = 1;  // a middle head: exercises the strides
      const int n_q = std::max(1, n / 2);
      std::vector<float> pa(n_q * n), pb(n_q * n), ca(n_q * ld), cb(n_q * ld);
      const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
      AttentionHead_ref(q.data() + h * dh, k.data() + h * dh, v.data() + h * dh,
                        ld, n_q, n, dh, scale, pa.data(), ca.data() + h * dh,
                        ld);
      AttentionHead_avx2(q.data() + h * dh, k.data() + h * dh,
                         v.data() + h * dh, ld, n_q, n, dh, scale, pb.data(),
                         cb.data() + h * dh, ld);
      for (size_t i = 0; i < pa.size(); ++i)
        ASSERT_NEAR(pa[i], pb[i], kSoftmaxTol);
      for (int i = 0; i < n_q; ++i) {
        for (int d = 0; d < dh; ++d) {
          const size_t at = static_cast<size_t>(i) * ld + h * dh + d;
          ASSERT_NEAR(ca[at], cb[at], kAttentionCtxTol) << dh << " " << n;
        }
      }
    }
  }
}

}  // namespace
}  // namespace fastrel
