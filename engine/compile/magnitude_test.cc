#include "engine/compile/magnitude.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

struct Case {
  Pattern pattern;
  std::optional<double> sparsity;
};

const Case kCases[] = {
    {Pattern::kUnstructured, 0.5}, {Pattern::kUnstructured, 0.7},
    {Pattern::kUnstructured, 0.9}, {Pattern::k4x1, 0.5},
    {Pattern::k4x1, 0.8},          {Pattern::k2of4, std::nullopt},
    {Pattern::k1of4, 0.75},
};

TEST(PruneMagnitudeTest, MasksConformAndKeepTheLargest) {
  const int64_t rows = 64, cols = 96;
  const std::vector<float> w = testing::RandomNormal(rows * cols, 21);
  for (const Case& c : kCases) {
    SCOPED_TRACE(PatternName(c.pattern));
    absl::StatusOr<CompressedLayer> out = PruneMagnitude(
        w, rows, cols, c.pattern, c.sparsity, Quantization::kNone);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(out->qweight.empty());
    EXPECT_TRUE(out->scales.empty());
    const absl::Status conforms =
        CheckMask(out->mask, rows, cols, c.pattern, out->sparsity);
    EXPECT_TRUE(conforms.ok()) << conforms;
    // Kept weights unchanged, pruned ones zero.
    for (size_t k = 0; k < w.size(); ++k) {
      ASSERT_EQ(out->weight[k], out->mask[k] ? w[k] : 0.0f);
    }
    // Optimality of the selection within each selection unit.
    if (c.pattern == Pattern::kUnstructured) {
      for (int64_t r = 0; r < rows; ++r) {
        float min_kept = 1e30f, max_pruned = 0.0f;
        for (int64_t j = 0; j < cols; ++j) {
          const float a = std::abs(w[r * cols + j]);
          if (out->mask[r * cols + j]) {
            min_kept = std::min(min_kept, a);
          } else {
            max_pruned = std::max(max_pruned, a);
          }
        }
        ASSERT_GE(min_kept, max_pruned) << "row " << r;
      }
    } else if (c.pattern == Pattern::k4x1) {
      for (int64_t g = 0; g < rows; g += 4) {
        double min_kept = 1e30, max_pruned = 0.0;
        for (int64_t j = 0; j < cols; ++j) {
          double s = 0.0;
          for (int64_t r = g; r < g + 4; ++r) {
            s += static_cast<double>(w[r * cols + j]) * w[r * cols + j];
          }
          if (out->mask[g * cols + j]) {
            min_kept = std::min(min_kept, s);
          } else {
            max_pruned = std::max(max_pruned, s);
          }
        }
        ASSERT_GE(min_kept, max_pruned) << "group " << g;
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t g = 0; g < cols; g += 4) {
          float min_kept = 1e30f, max_pruned = 0.0f;
          for (int64_t j = g; j < g + 4; ++j) {
            const float a = std::abs(w[r * cols + j]);
            if (out->mask[r * cols + j]) {
              min_kept = std::min(min_kept, a);
            } else {
              max_pruned = std::max(max_pruned, a);
            }
          }
          ASSERT_GE(min_kept, max_pruned);
        }
      }
    }
  }
}

TEST(PruneMagnitudeTest, Int8QuantizationOfKeptWeights) {
  const int64_t rows = 32, cols = 64;
  std::vector<float> w = testing::RandomNormal(rows * cols, 22);
  for (int64_t c = 0; c < cols; ++c) w[5 * cols + c] = 0.0f;  // all-zero row
  for (const Case& c : kCases) {
    SCOPED_TRACE(PatternName(c.pattern));
    absl::StatusOr<CompressedLayer> out = PruneMagnitude(
        w, rows, cols, c.pattern, c.sparsity, Quantization::kInt8);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->qweight.size(), w.size());
    ASSERT_EQ(out->scales.size(), static_cast<size_t>(rows));
    EXPECT_TRUE(
        CheckMask(out->mask, rows, cols, c.pattern, out->sparsity).ok());
    for (int64_t r = 0; r < rows; ++r) {
      const float scale = out->scales[r];
      ASSERT_GT(scale, 0.0f);
      float max_kept = 0.0f;
      int max_q = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const size_t k = r * cols + j;
        const int q = out->qweight[k];
        ASSERT_GE(q, -127);
        ASSERT_LE(q, 127);
        if (!out->mask[k]) {
          ASSERT_EQ(q, 0);
          ASSERT_EQ(out->weight[k], 0.0f);
          continue;
        }
        ASSERT_EQ(out->weight[k], scale * static_cast<float>(q));
        // Round-to-nearest: within half a step of the original.
        ASSERT_LE(std::abs(out->weight[k] - w[k]), 0.5f * scale * 1.0001f);
        max_kept = std::max(max_kept, std::abs(w[k]));
        max_q = std::max(max_q, std::abs(q));
      }
      if (max_kept > 0.0f) {
        EXPECT_EQ(max_q, 127) << "row " << r;  // the scale is max|kept|/127
      }
    }
  }
}

TEST(PruneMagnitudeTest, BadArguments) {
  const std::vector<float> w(8 * 8, 1.0f);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double s : {0.0, 1.0, -0.1, nan}) {
    EXPECT_EQ(
        PruneMagnitude(w, 8, 8, Pattern::kUnstructured, s, Quantization::kNone)
            .status()
            .code(),
        absl::StatusCode::kInvalidArgument)
        << s;
  }
  EXPECT_EQ(PruneMagnitude(w, 8, 8, Pattern::kUnstructured, std::nullopt,
                           Quantization::kNone)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<float> w6(8 * 6, 1.0f);
  EXPECT_EQ(PruneMagnitude(w6, 8, 6, Pattern::k2of4, std::nullopt,
                           Quantization::kNone)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PruneMagnitude(w6, 6, 8, Pattern::k4x1, 0.5, Quantization::kNone)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      PruneMagnitude(w, 8, 7, Pattern::kUnstructured, 0.5, Quantization::kNone)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  std::vector<float> inf = w;
  inf[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(PruneMagnitude(inf, 8, 8, Pattern::kUnstructured, 0.5,
                           Quantization::kNone)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel::compile
