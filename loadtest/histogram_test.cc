#include "loadtest/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace fastrel::loadtest {
namespace {

// Exact percentile of sorted samples with the same rank rule as Histogram.
int64_t ExactPercentile(const std::vector<int64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(
      std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtPercentile(50), 50);
  EXPECT_EQ(h.ValueAtPercentile(99), 99);
  EXPECT_EQ(h.ValueAtPercentile(100), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(HistogramTest, BucketsAreContiguousAndBounded) {
  // Every value maps into a bucket whose upper bound is >= the value and
  // within the relative error bound; indices never decrease.
  int last = -1;
  for (int64_t v = 0; v < (int64_t{1} << 22); v += 1 + v / 300) {
    const int index = Histogram::BucketIndex(v);
    ASSERT_GE(index, last) << v;
    last = index;
    const int64_t upper = Histogram::BucketUpperBound(index);
    ASSERT_GE(upper, v) << v;
    ASSERT_LE(static_cast<double>(upper - v),
              Histogram::kMaxRelativeError * static_cast<double>(v) + 1e-9)
        << v;
    if (index > 0) {
      ASSERT_LT(Histogram::BucketUpperBound(index - 1), v) << v;
    }
  }
}

TEST(HistogramTest, PercentilesWithinRelativeErrorOfExact) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(
      9.0, 1.5);  // ~8 ms median, long tail (us)
  Histogram h;
  std::vector<int64_t> samples;
  for (int i = 0; i < 100000; ++i) {
    const int64_t v = static_cast<int64_t>(dist(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const int64_t exact = ExactPercentile(samples, p);
    const int64_t got = h.ValueAtPercentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got),
              static_cast<double>(exact) * (1 + Histogram::kMaxRelativeError))
        << p;
  }
  EXPECT_EQ(h.ValueAtPercentile(100), samples.back());
}

TEST(HistogramTest, PercentilesMonotone) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> dist(1e-4);
  Histogram h;
  for (int i = 0; i < 20000; ++i) h.Record(static_cast<int64_t>(dist(rng)));
  int64_t last = 0;
  for (double p = 0; p <= 100; p += 0.25) {
    const int64_t v = h.ValueAtPercentile(p);
    ASSERT_GE(v, last) << p;
    last = v;
  }
  EXPECT_EQ(last, h.max());
}

TEST(HistogramTest, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> dist(0, 5'000'000);
  for (int i = 0; i < 5000; ++i) {
    const int64_t v = dist(rng);
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  Histogram merged;
  merged.Merge(a);
  merged.Merge(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
}

TEST(HistogramTest, ClampsOutOfRange) {
  Histogram h;
  h.Record(-5);
  h.Record(Histogram::kMaxValue * 4);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  EXPECT_EQ(h.count(), 2u);
}

}  // namespace
}  // namespace fastrel::loadtest
