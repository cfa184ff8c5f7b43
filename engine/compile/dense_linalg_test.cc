#include "engine/compile/dense_linalg.h"

#include <cmath>
#include <tuple>
#include <vector>

#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

// Relative tolerance of fp64 GEMM against a naive triple loop: the blocked
// version only reorders sums of at most a few hundred terms (~1e-16 each).
constexpr double kGemmTol = 1e-12;
// |U^T U H - I| for well-conditioned (diagonally loaded) test matrices of
// size <= 300 in fp64.
constexpr double kInverseTol = 1e-9;

std::vector<double> RandomMatrix(int64_t r, int64_t c, uint64_t seed) {
  const std::vector<float> f = testing::RandomNormal(r * c, seed);
  return std::vector<double>(f.begin(), f.end());
}

class GemmTest : public ::testing::TestWithParam<
                     std::tuple<bool, int64_t, int64_t, int64_t>> {};

TEST_P(GemmTest, MatchesNaive) {
  const auto [trans_b, m, n, k] = GetParam();
  // Leading dimensions larger than the logical width, to catch ld mix-ups.
  const int64_t lda = k + 3, ldb = (trans_b ? k : n) + 5, ldc = n + 2;
  const std::vector<double> a = RandomMatrix(m, lda, 1);
  const std::vector<double> b = RandomMatrix(trans_b ? n : k, ldb, 2);
  std::vector<double> c = RandomMatrix(m, ldc, 3);
  std::vector<double> want = c;
  const double alpha = -0.75;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        s += a[i * lda + p] * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      }
      want[i * ldc + j] += alpha * s;
    }
  }
  Gemm(trans_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, c.data(), ldc);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const double w = want[i * ldc + j];
      ASSERT_NEAR(c[i * ldc + j], w, kGemmTol * (1.0 + std::abs(w)) * k)
          << "i=" << i << " j=" << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(1, 5, 67),
                                            ::testing::Values(1, 9, 130),
                                            ::testing::Values(1, 7, 300)));

// A random SPD matrix: B B^T / n + diag(load).
std::vector<double> RandomSpd(int64_t n, uint64_t seed, double load) {
  const std::vector<double> b = RandomMatrix(n, n, seed);
  std::vector<double> h(static_cast<size_t>(n * n), 0.0);
  Gemm(true, n, n, n, 1.0 / n, b.data(), n, b.data(), n, h.data(), n);
  for (int64_t i = 0; i < n; ++i) h[i * n + i] += load;
  return h;
}

TEST(CholeskyTest, ReconstructsMatrix) {
  for (int64_t n : {1, 3, 64, 65, 200}) {
    const std::vector<double> h = RandomSpd(n, 10 + n, 0.1);
    std::vector<double> l = h;
    ASSERT_TRUE(CholeskyLower(n, l.data()).ok()) << n;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (j > i) {
          ASSERT_EQ(l[i * n + j], 0.0);
          continue;
        }
        double s = 0.0;
        for (int64_t t = 0; t <= j; ++t) s += l[i * n + t] * l[j * n + t];
        ASSERT_NEAR(s, h[i * n + j], kInverseTol) << n << " " << i << " " << j;
      }
    }
  }
}

TEST(CholeskyTest, RejectsIndefinite) {
  std::vector<double> a = {1.0, 2.0, 2.0, 1.0};  // eigenvalues 3, -1
  const absl::Status s = CholeskyLower(2, a.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  std::vector<double> zero(9, 0.0);
  EXPECT_FALSE(CholeskyLower(3, zero.data()).ok());
}

TEST(UpperCholeskyOfInverseTest, IsUpperAndFactorsTheInverse) {
  for (int64_t n : {1, 2, 63, 64, 129, 300}) {
    const std::vector<double> h = RandomSpd(n, 100 + n, 0.5);
    absl::StatusOr<std::vector<double>> u = UpperCholeskyOfInverse(n, h);
    ASSERT_TRUE(u.ok()) << u.status();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_GT((*u)[i * n + i], 0.0);
      for (int64_t j = 0; j < i; ++j) ASSERT_EQ((*u)[i * n + j], 0.0);
    }
    // (U^T U) H == I.
    std::vector<double> utu(static_cast<size_t>(n * n), 0.0);
    std::vector<double> ut(static_cast<size_t>(n * n));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) ut[j * n + i] = (*u)[i * n + j];
    }
    Gemm(false, n, n, n, 1.0, ut.data(), n, u->data(), n, utu.data(), n);
    std::vector<double> prod(static_cast<size_t>(n * n), 0.0);
    Gemm(false, n, n, n, 1.0, utu.data(), n, h.data(), n, prod.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(prod[i * n + j], i == j ? 1.0 : 0.0, kInverseTol)
            << n << " " << i << " " << j;
      }
    }
  }
}

TEST(UpperCholeskyOfInverseTest, Errors) {
  EXPECT_EQ(
      UpperCholeskyOfInverse(3, std::vector<double>(8, 1.0)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UpperCholeskyOfInverse(2, {1.0, 2.0, 2.0, 1.0}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fastrel::compile
