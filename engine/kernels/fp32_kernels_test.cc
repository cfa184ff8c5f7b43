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

// Column sums of probabilities: up to 128 rows of values in [0, 1], fp32
// sums in the same row order, so differences come only from the
// probabilities (kSoftmaxTol each).
constexpr float kColsumTol = 128 * kSoftmaxTol;

struct HeadInputs {
  int dh, n, ld, n_q;
  std::vector<float> q, k, v;
  float scale;
};

// Three heads of random Q/K/V for n tokens; the tests use the middle head
// (exercising the strides).
HeadInputs MakeHead(std::mt19937* rng, int dh, int n) {
  HeadInputs in;
  in.dh = dh;
  in.n = n;
  in.ld = dh * 3;
  in.n_q = std::max(1, n / 2);
  in.q = Random(rng, static_cast<size_t>(n) * in.ld, 1.0f);
  in.k = Random(rng, static_cast<size_t>(n) * in.ld, 1.0f);
  in.v = Random(rng, static_cast<size_t>(n) * in.ld, 1.0f);
  in.scale = 1.0f / std::sqrt(static_cast<float>(dh));
  return in;
}

constexpr int kDhs[] = {8, 16, 24, 32, 64, 128, 12};
constexpr int kNs[] = {1, 3, 4, 8, 9, 20, 37, 75, 128};

TEST(Fp32KernelsTest, AttentionRefPartsMatchFusedRef) {
  std::mt19937 rng(5);
  for (int n : {1, 7, 20, 75}) {
    HeadInputs in = MakeHead(&rng, 16, n);
    const int h = 1, dh = in.dh, ld = in.ld;
    std::vector<float> p(static_cast<size_t>(n) * n), ca(n * ld), cb(n * ld),
        cs(n, 0.0f), cs2(n, 0.5f);
    AttentionHead_ref(in.q.data() + h * dh, in.k.data() + h * dh,
                      in.v.data() + h * dh, ld, n, n, dh, in.scale, p.data(),
                      cs.data(), ca.data(), dh);
    // The parts, with a padded probability stride and selected rows.
    const int ldp = n + 5;
    std::vector<float> pp(static_cast<size_t>(n) * ldp);
    AttentionProbs_ref(in.q.data() + h * dh, in.k.data() + h * dh, ld, n, n, dh,
                       in.scale, pp.data(), ldp, cs2.data());
    std::vector<int> rows;
    for (int i = n - 1; i >= 0; i -= 2) rows.push_back(i);
    AttentionContext_ref(pp.data(), ldp, rows.data(),
                         static_cast<int>(rows.size()), n, in.v.data() + h * dh,
                         ld, dh, cb.data(), dh);
    for (int j = 0; j < n; ++j) {
      float sum = 0;
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(p[static_cast<size_t>(i) * n + j],
                  pp[static_cast<size_t>(i) * ldp + j]);
        sum += p[static_cast<size_t>(i) * n + j];
      }
      ASSERT_EQ(cs[j], sum);                // same order, same sums
      ASSERT_FLOAT_EQ(cs2[j], 0.5f + sum);  // accumulates
    }
    for (size_t r = 0; r < rows.size(); ++r) {
      for (int d = 0; d < dh; ++d) {
        ASSERT_EQ(cb[r * dh + d], ca[rows[r] * dh + d]) << n;
      }
    }
    // Without probs (and without colsum) the context is the same.
    std::vector<float> cc(n * ld);
    AttentionHead_ref(in.q.data() + h * dh, in.k.data() + h * dh,
                      in.v.data() + h * dh, ld, n, n, dh, in.scale, nullptr,
                      nullptr, cc.data(), dh);
    for (int i = 0; i < n * dh; ++i) ASSERT_EQ(cc[i], ca[i]);
  }
}

TEST(Fp32KernelsTest, AttentionHeadAvx2MatchesRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(4);
  for (int dh : kDhs) {
    for (int n : kNs) {
      HeadInputs in = MakeHead(&rng, dh, n);
      const int h = 1, ld = in.ld, n_q = in.n_q;
      const float* q = in.q.data() + h * dh;
      const float* k = in.k.data() + h * dh;
      const float* v = in.v.data() + h * dh;
      std::vector<float> pa(n_q * n), pb(n_q * n), ca(n_q * ld), cb(n_q * ld),
          cc(n_q * ld), sa(n, 0.25f), sb(n, 0.25f);
      AttentionHead_ref(q, k, v, ld, n_q, n, dh, in.scale, pa.data(), sa.data(),
                        ca.data() + h * dh, ld);
      AttentionHead_avx2(q, k, v, ld, n_q, n, dh, in.scale, pb.data(),
                         sb.data(), cb.data() + h * dh, ld);
      // Probabilities never written out: same context.
      AttentionHead_avx2(q, k, v, ld, n_q, n, dh, in.scale, nullptr, nullptr,
                         cc.data() + h * dh, ld);
      for (size_t i = 0; i < pa.size(); ++i)
        ASSERT_NEAR(pa[i], pb[i], kSoftmaxTol);
      for (int j = 0; j < n; ++j) ASSERT_NEAR(sa[j], sb[j], kColsumTol);
      for (int i = 0; i < n_q; ++i) {
        for (int d = 0; d < dh; ++d) {
          const size_t at = static_cast<size_t>(i) * ld + h * dh + d;
          ASSERT_NEAR(ca[at], cb[at], kAttentionCtxTol) << dh << " " << n;
          ASSERT_EQ(cb[at], cc[at]) << dh << " " << n;
        }
      }
    }
  }
}

TEST(Fp32KernelsTest, AttentionProbsAndContextAvx2MatchRef) {
  SkipWithoutAvx2();
  std::mt19937 rng(6);
  for (int dh : kDhs) {
    for (int n : kNs) {
      HeadInputs in = MakeHead(&rng, dh, n);
      const int h = 1, ld = in.ld, ldp = n + 3;
      const float* q = in.q.data() + h * dh;
      const float* k = in.k.data() + h * dh;
      const float* v = in.v.data() + h * dh;
      std::vector<float> pa(static_cast<size_t>(n) * ldp, -1.0f),
          pb = pa, sa(n, 1.0f), sb = sa;
      AttentionProbs_ref(q, k, ld, n, n, dh, in.scale, pa.data(), ldp,
                         sa.data());
      AttentionProbs_avx2(q, k, ld, n, n, dh, in.scale, pb.data(), ldp,
                          sb.data());
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < ldp; ++j) {
          const size_t at = static_cast<size_t>(i) * ldp + j;
          if (j >= n) {
            ASSERT_EQ(pb[at], -1.0f) << "wrote past n_k";
          } else {
            ASSERT_NEAR(pa[at], pb[at], kSoftmaxTol);
          }
        }
      }
      for (int j = 0; j < n; ++j) ASSERT_NEAR(sa[j], sb[j], kColsumTol);
      // Context of a scattered subset of rows (kept tokens), from the same
      // probabilities, into a strided output.
      std::vector<int> rows = {0};
      for (int i = 1; i < n; ++i) {
        if (i % 3 != 1) rows.push_back(i);
      }
      const int nr = static_cast<int>(rows.size());
      std::vector<float> ca(nr * ld, 0.0f), cb(nr * ld, 0.0f);
      AttentionContext_ref(pb.data(), ldp, rows.data(), nr, n, v, ld, dh,
                           ca.data() + h * dh, ld);
      AttentionContext_avx2(pb.data(), ldp, rows.data(), nr, n, v, ld, dh,
                            cb.data() + h * dh, ld);
      for (size_t i = 0; i < ca.size(); ++i) {
        ASSERT_NEAR(ca[i], cb[i], kAttentionCtxTol) << dh << " " << n;
      }
    }
  }
}

}  // namespace
}  // namespace fastrel
