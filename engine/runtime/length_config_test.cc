#include "engine/runtime/length_config.h"

#include "gtest/gtest.h"

namespace fastrel {
namespace {

TEST(LengthConfigTest, FullConfigs) {
  EXPECT_TRUE(LengthConfig{}.is_full());
  EXPECT_TRUE((LengthConfig{{1.0, 1.0}}).is_full());
  EXPECT_FALSE((LengthConfig{{1.0, 0.9}}).is_full());
  EXPECT_EQ(LengthConfig{}.KeptTokens(3, 57), 57);
  EXPECT_TRUE(LengthConfig{}.Validate(4).ok());
}

TEST(LengthConfigTest, KeptTokensMatchesReference) {
  // recipe/bert_ref.py: k = min(k_prev, max(1, ceil(r * n - 1e-9))).
  LengthConfig c{{0.7, 0.5, 0.4, 0.3}};
  EXPECT_EQ(c.KeptTokens(0, 10), 7);  // 0.7 * 10 is 7.000000000000001
  EXPECT_EQ(c.KeptTokens(1, 10), 5);
  EXPECT_EQ(c.KeptTokens(2, 10), 4);
  EXPECT_EQ(c.KeptTokens(3, 10), 3);
  EXPECT_EQ(c.KeptTokens(0, 55), 39);  // ceil(38.5)
  EXPECT_EQ(c.KeptTokens(3, 1), 1);
  EXPECT_EQ(c.KeptTokens(3, 2), 1);  // ceil(0.6) = 1
  LengthConfig tiny{{0.01, 0.01}};
  EXPECT_EQ(tiny.KeptTokens(1, 50), 1);  // at least one token
}

TEST(LengthConfigTest, ValidateRejectsBadConfigs) {
  absl::Status s = LengthConfig{{0.9, 0.8}}.Validate(4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("2 keep ratios"), std::string::npos) << s;
  s = LengthConfig{{0.9, 0.0}}.Validate(2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("(0, 1]"), std::string::npos) << s;
  s = LengthConfig{{1.5, 0.5}}.Validate(2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = LengthConfig{{0.5, 0.6}}.Validate(2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("non-increasing"), std::string::npos) << s;
  EXPECT_TRUE((LengthConfig{{0.9, 0.9, 0.5}}).Validate(3).ok());
}

}  // namespace
}  // namespace fastrel
