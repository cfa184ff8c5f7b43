#include "engine/data/metrics.h"

#include <vector>

#include "gtest/gtest.h"

namespace fastrel {
namespace {

TEST(AucTest, PerfectAndInvertedRanking) {
  const std::vector<float> s = {0.1f, 0.2f, 0.8f, 0.9f};
  EXPECT_DOUBLE_EQ(*Auc(s, std::vector<int>{0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(*Auc(s, std::vector<int>{1, 1, 0, 0}), 0.0);
}

TEST(AucTest, TiesCountHalf) {
  // One positive tied with one negative: the pair counts 1/2.
  const std::vector<float> s = {0.5f, 0.5f};
  EXPECT_DOUBLE_EQ(*Auc(s, std::vector<int>{0, 1}), 0.5);
  // Positives {0.3, 0.7}, negatives {0.3, 0.1}: pairs (0.3>0.1)=1,
  // (0.3=0.3)=.5, (0.7>0.3)=1, (0.7>0.1)=1 -> 3.5/4.
  const std::vector<float> s2 = {0.3f, 0.7f, 0.3f, 0.1f};
  EXPECT_DOUBLE_EQ(*Auc(s2, std::vector<int>{1, 1, 0, 0}), 3.5 / 4);
}

TEST(AucTest, MatchesBruteForcePairCount) {
  std::vector<float> s;
  std::vector<int> y;
  uint32_t x = 12345;
  for (int i = 0; i < 500; ++i) {
    x = x * 1664525u + 1013904223u;
    s.push_back(static_cast<float>((x >> 8) % 50));  // many ties
    y.push_back((x >> 20) & 1);
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[i] == 1 && y[j] == 0) {
        den += 1;
        num += s[i] > s[j] ? 1 : (s[i] == s[j] ? 0.5 : 0);
      }
    }
  }
  EXPECT_NEAR(*Auc(s, y), num / den, 1e-12);
}

TEST(AucTest, RejectsBadInput) {
  const std::vector<float> s = {0.1f, 0.2f};
  EXPECT_FALSE(Auc(s, std::vector<int>{0}).ok());
  EXPECT_FALSE(Auc(s, std::vector<int>{1, 1}).ok());
  EXPECT_FALSE(Auc(s, std::vector<int>{0, 2}).ok());
  const std::vector<float> nan = {0.1f,
                                  std::numeric_limits<float>::quiet_NaN()};
  EXPECT_FALSE(Auc(nan, std::vector<int>{0, 1}).ok());
}

}  // namespace
}  // namespace fastrel
