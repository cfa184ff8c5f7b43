#include "engine/compile/hessian.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

// fp64 accumulation of fp32 inputs: the only differences from the naive
// double loop are summation order (relative ~1e-15 per entry).
constexpr double kHessianTol = 1e-11;

std::vector<double> NaiveHessian(const std::vector<float>& x, int64_t n,
                                 int64_t k) {
  std::vector<double> h(static_cast<size_t>(k * k), 0.0);
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        h[i * k + j] += static_cast<double>(x[s * k + i]) * x[s * k + j];
      }
    }
  }
  for (double& v : h) v *= 2.0 / static_cast<double>(n);
  return h;
}

void ExpectNear(const std::vector<double>& got,
                const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], kHessianTol * (1.0 + std::abs(want[i])))
        << "index " << i;
  }
}

TEST(HessianAccumulatorTest, MatchesNaiveAcrossChunksAndBlocks) {
  // 600 rows spans several 256-row chunks; K = 200 spans two 128 blocks.
  const int64_t n = 600, k = 200;
  const std::vector<float> x = testing::RandomNormal(n * k, 7);
  HessianAccumulator acc(k);
  ASSERT_TRUE(acc.Add(x, n).ok());
  EXPECT_EQ(acc.count(), n);
  EXPECT_EQ(acc.dim(), k);
  absl::StatusOr<std::vector<double>> h = acc.Hessian();
  ASSERT_TRUE(h.ok()) << h.status();
  ExpectNear(*h, NaiveHessian(x, n, k));
}

TEST(HessianAccumulatorTest, StreamingAndMergeEqualOneShot) {
  const int64_t n = 300, k = 37;
  const std::vector<float> x = testing::RandomNormal(n * k, 8);
  HessianAccumulator one(k);
  ASSERT_TRUE(one.Add(x, n).ok());

  HessianAccumulator first(k), second(k);
  const absl::Span<const float> all(x);
  ASSERT_TRUE(first.Add(all.subspan(0, 100 * k), 100).ok());
  ASSERT_TRUE(first.Add(all.subspan(100 * k, 50 * k), 50).ok());
  ASSERT_TRUE(first.Add(all.subspan(150 * k, 0), 0).ok());
  ASSERT_TRUE(second.Add(all.subspan(150 * k), 150).ok());
  ASSERT_TRUE(first.Merge(second).ok());
  EXPECT_EQ(first.count(), n);
  ExpectNear(*first.Hessian(), *one.Hessian());
}

TEST(HessianAccumulatorTest, Errors) {
  HessianAccumulator acc(4);
  EXPECT_EQ(acc.Hessian().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(acc.Add(std::vector<float>(7, 1.0f), 2).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<float> bad(8, 1.0f);
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(acc.Add(bad, 2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acc.count(), 0);
  HessianAccumulator other(5);
  EXPECT_EQ(acc.Merge(other).code(), absl::StatusCode::kInvalidArgument);
  HessianAccumulator invalid(0);
  EXPECT_EQ(invalid.Add({}, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.Hessian().status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel::compile
