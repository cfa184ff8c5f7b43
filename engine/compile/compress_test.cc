#include "engine/compile/compress.h"

#include <vector>

#include "engine/compile/magnitude.h"
#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

TEST(CompressTest, ParseAndName) {
  EXPECT_EQ(*ParseMethod("obs"), Method::kObs);
  EXPECT_EQ(*ParseMethod("magnitude"), Method::kMagnitude);
  EXPECT_EQ(MethodName(Method::kObs), "obs");
  EXPECT_EQ(MethodName(Method::kMagnitude), "magnitude");
  const absl::Status bad = ParseMethod("sparsegpt").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("magnitude, obs"), std::string_view::npos);
  EXPECT_EQ(*ParseQuantization("int8"), Quantization::kInt8);
  EXPECT_EQ(*ParseQuantization("none"), Quantization::kNone);
  EXPECT_EQ(QuantizationName(Quantization::kInt8), "int8");
  EXPECT_EQ(ParseQuantization("int4").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CompressTest, DispatchesToBothMethods) {
  const testing::SyntheticLayer l = testing::MakeCorrelatedLayer(16, 32, 64, 6);
  absl::StatusOr<CompressedLayer> mag =
      CompressLayer(Method::kMagnitude, l.w, 16, 32, {}, Pattern::k2of4,
                    std::nullopt, {.quantization = Quantization::kInt8});
  ASSERT_TRUE(mag.ok()) << mag.status();
  absl::StatusOr<CompressedLayer> direct = PruneMagnitude(
      l.w, 16, 32, Pattern::k2of4, std::nullopt, Quantization::kInt8);
  EXPECT_EQ(mag->weight, direct->weight);
  EXPECT_EQ(mag->qweight, direct->qweight);

  absl::StatusOr<CompressedLayer> obs =
      CompressLayer(Method::kObs, l.w, 16, 32, l.h, Pattern::k2of4,
                    std::nullopt, {.quantization = Quantization::kInt8});
  ASSERT_TRUE(obs.ok()) << obs.status();
  EXPECT_EQ(obs->qweight.size(), l.w.size());
  EXPECT_NE(obs->weight, mag->weight);  // error propagation changed weights
  // OBS without a Hessian is an error, not a crash.
  EXPECT_EQ(
      CompressLayer(Method::kObs, l.w, 16, 32, {}, Pattern::k2of4, std::nullopt)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel::compile
