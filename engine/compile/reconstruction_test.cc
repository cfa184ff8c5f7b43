#include "engine/compile/reconstruction.h"

#include <cmath>
#include <vector>

#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

// The Hessian form and the explicit ||WX - W'X||^2 / ||WX||^2 agree up to
// fp32 inputs summed in fp64 (~1e-12 relative).
constexpr double kRelTol = 1e-9;

TEST(ReconstructionErrorTest, MatchesExplicitOutputs) {
  const testing::SyntheticLayer l = testing::MakeCorrelatedLayer(12, 40, 90, 4);
  std::vector<float> wc = l.w;
  const std::vector<float> noise = testing::RandomNormal(wc.size(), 77);
  for (size_t k = 0; k < wc.size(); ++k) wc[k] += 0.1f * noise[k];
  double num = 0.0, den = 0.0;
  for (int64_t s = 0; s < l.samples; ++s) {
    for (int64_t r = 0; r < l.rows; ++r) {
      double y = 0.0, yc = 0.0;
      for (int64_t c = 0; c < l.cols; ++c) {
        y += static_cast<double>(l.w[r * l.cols + c]) * l.x[s * l.cols + c];
        yc += static_cast<double>(wc[r * l.cols + c]) * l.x[s * l.cols + c];
      }
      num += (y - yc) * (y - yc);
      den += y * y;
    }
  }
  absl::StatusOr<double> e =
      RelativeReconstructionError(l.w, wc, l.rows, l.cols, l.h);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR(*e, num / den, kRelTol * (num / den));
  EXPECT_GT(*e, 0.0);
  EXPECT_DOUBLE_EQ(*RelativeReconstructionError(l.w, l.w, l.rows, l.cols, l.h),
                   0.0);
}

TEST(ReconstructionErrorTest, Errors) {
  const std::vector<float> w(6, 1.0f);
  const std::vector<double> h(9, 1.0);
  EXPECT_EQ(RelativeReconstructionError(w, w, 2, 3, std::vector<double>(8))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RelativeReconstructionError(w, std::vector<float>(5), 2, 3, h)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RelativeReconstructionError(std::vector<float>(6, 0.0f), w, 2, 3, h)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fastrel::compile
