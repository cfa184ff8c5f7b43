#include "engine/compile/compressed_layer.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

TEST(Int8Test, ScaleAndRounding) {
  EXPECT_FLOAT_EQ(Int8Scale(12.7), 0.1f);
  EXPECT_EQ(Int8Scale(0.0), 1.0f);
  EXPECT_EQ(Int8Scale(std::numeric_limits<double>::quiet_NaN()), 1.0f);
  EXPECT_EQ(QuantizeInt8(0.26, 0.1f), 3);
  EXPECT_EQ(QuantizeInt8(-1.25, 0.5f), -3);  // half away from zero (-2.5)
  EXPECT_EQ(QuantizeInt8(1.25, 0.5f), 3);
  EXPECT_EQ(QuantizeInt8(1e9, 0.1f), 127);
  EXPECT_EQ(QuantizeInt8(-1e9, 0.1f), -127);  // never -128
  EXPECT_EQ(DequantizeInt8(-5, 0.5f), -2.5f);
}

TEST(QuantizeDenseInt8Test, PerRowRoundToNearest) {
  const int64_t rows = 6, cols = 20;
  std::vector<float> w = testing::RandomNormal(rows * cols, 12);
  for (int64_t c = 0; c < cols; ++c) w[2 * cols + c] = 0.0f;
  absl::StatusOr<CompressedLayer> out = QuantizeDenseInt8(w, rows, cols);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(
      CheckMask(out->mask, rows, cols, Pattern::kUnstructured, out->sparsity)
          .ok());
  for (int64_t r = 0; r < rows; ++r) {
    int max_q = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const size_t k = r * cols + c;
      EXPECT_EQ(out->weight[k], out->scales[r] * out->qweight[k]);
      EXPECT_LE(std::abs(out->weight[k] - w[k]),
                0.5f * out->scales[r] * 1.0001f);
      max_q = std::max(max_q, std::abs(static_cast<int>(out->qweight[k])));
    }
    EXPECT_EQ(max_q, r == 2 ? 0 : 127);
  }
  std::vector<float> bad = w;
  bad[7] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(QuantizeDenseInt8(bad, rows, cols).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeDenseInt8(w, rows, cols + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel::compile
