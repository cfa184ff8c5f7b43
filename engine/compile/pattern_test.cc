#include "engine/compile/pattern.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

TEST(PatternTest, ParseAndNameRoundTrip) {
  for (Pattern p : {Pattern::kUnstructured, Pattern::k4x1, Pattern::k2of4,
                    Pattern::k1of4}) {
    absl::StatusOr<Pattern> parsed = ParsePattern(PatternName(p));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(PatternName(Pattern::k2of4), "2:4");
  EXPECT_EQ(PatternName(Pattern::k1of4), "1:4");
  EXPECT_EQ(PatternName(Pattern::k4x1), "4x1");
}

TEST(PatternTest, UnknownPatternNamesTheValidOnes) {
  for (const char* bad : {"", "4X1", "2:8", "1x4", "Unstructured", "2:4 "}) {
    absl::StatusOr<Pattern> parsed = ParsePattern(bad);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_NE(parsed.status().message().find("unstructured, 4x1, 2:4, 1:4"),
              std::string_view::npos)
        << parsed.status();
  }
}

TEST(PatternTest, NofMProperties) {
  EXPECT_FALSE(IsNofM(Pattern::kUnstructured));
  EXPECT_FALSE(IsNofM(Pattern::k4x1));
  EXPECT_TRUE(IsNofM(Pattern::k2of4));
  EXPECT_EQ(PatternKeep(Pattern::k2of4), 2);
  EXPECT_EQ(PatternKeep(Pattern::k1of4), 1);
  EXPECT_EQ(PatternGroup(Pattern::k1of4), 4);
}

TEST(PatternTest, ResolveSparsity) {
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::kUnstructured, 0.7), 0.7);
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::k4x1, 0.9), 0.9);
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::k2of4, std::nullopt), 0.5);
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::k2of4, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::k1of4, std::nullopt), 0.75);
  EXPECT_DOUBLE_EQ(*ResolveSparsity(Pattern::k1of4, 0.75), 0.75);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (Pattern p : {Pattern::kUnstructured, Pattern::k4x1}) {
    for (std::optional<double> bad :
         {std::optional<double>(), std::optional<double>(0.0),
          std::optional<double>(1.0), std::optional<double>(-0.5),
          std::optional<double>(1.5), std::optional<double>(nan),
          std::optional<double>(inf)}) {
      EXPECT_EQ(ResolveSparsity(p, bad).status().code(),
                absl::StatusCode::kInvalidArgument)
          << PatternName(p) << " " << bad.value_or(-99);
    }
  }
  EXPECT_EQ(ResolveSparsity(Pattern::k2of4, 0.7).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveSparsity(Pattern::k1of4, 0.5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveSparsity(Pattern::k2of4, nan).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PatternTest, ValidateShape) {
  EXPECT_TRUE(ValidateShape(Pattern::kUnstructured, 3, 5).ok());
  EXPECT_TRUE(ValidateShape(Pattern::k4x1, 8, 5).ok());
  EXPECT_EQ(ValidateShape(Pattern::k4x1, 6, 8).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateShape(Pattern::k2of4, 3, 6).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateShape(Pattern::k1of4, 3, 10).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateShape(Pattern::kUnstructured, 0, 4).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PatternTest, PrunedPerRow) {
  EXPECT_EQ(PrunedPerRow(0.5, 10), 5);
  EXPECT_EQ(PrunedPerRow(0.7, 10), 7);
  EXPECT_EQ(PrunedPerRow(0.75, 64), 48);
  EXPECT_EQ(PrunedPerRow(1e-6, 256), 0);
}

TEST(CheckMaskTest, AcceptsConformingMasks) {
  // 2 rows x 8 cols, 2:4.
  const std::vector<uint8_t> two_four = {1, 0, 1, 0, 0, 0, 1, 1,
                                         0, 1, 1, 0, 1, 1, 0, 0};
  EXPECT_TRUE(CheckMask(two_four, 2, 8, Pattern::k2of4, 0.5).ok());
  EXPECT_TRUE(CheckMask(two_four, 2, 8, Pattern::kUnstructured, 0.5).ok());
  // 4 rows x 4 cols, 4x1 at 50%.
  std::vector<uint8_t> four_one;
  for (int r = 0; r < 4; ++r) four_one.insert(four_one.end(), {0, 1, 1, 0});
  EXPECT_TRUE(CheckMask(four_one, 4, 4, Pattern::k4x1, 0.5).ok());
  const std::vector<uint8_t> one_four = {0, 0, 0, 1, 1, 0, 0, 0};
  EXPECT_TRUE(CheckMask(one_four, 1, 8, Pattern::k1of4, 0.75).ok());
}

TEST(CheckMaskTest, RejectsViolations) {
  // 2:4 group keeping 3.
  EXPECT_FALSE(
      CheckMask({1, 1, 1, 0, 1, 1, 0, 0}, 1, 8, Pattern::k2of4, 0.5).ok());
  // Row pruning one too many for 50% unstructured.
  EXPECT_FALSE(
      CheckMask({0, 0, 0, 1, 0, 0, 1, 1}, 1, 8, Pattern::kUnstructured, 0.5)
          .ok());
  // 4x1 block partly pruned (row 3 differs), same per-row counts.
  std::vector<uint8_t> m;
  for (int r = 0; r < 3; ++r) m.insert(m.end(), {0, 1, 1, 0});
  m.insert(m.end(), {1, 0, 1, 0});
  EXPECT_FALSE(CheckMask(m, 4, 4, Pattern::k4x1, 0.5).ok());
  EXPECT_TRUE(CheckMask(m, 4, 4, Pattern::kUnstructured, 0.5).ok());
  // Wrong size, values other than 0/1.
  EXPECT_FALSE(CheckMask({1, 0, 1}, 1, 4, Pattern::kUnstructured, 0.5).ok());
  EXPECT_FALSE(CheckMask({2, 0, 1, 0}, 1, 4, Pattern::kUnstructured, 0.5).ok());
}

}  // namespace
}  // namespace fastrel::compile
