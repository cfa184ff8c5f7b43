// Log-linear latency histogram with bounded relative error (HDR-style).
//
// Values are non-negative integers (the load tester records microseconds).
// Values below kSubBuckets are stored exactly; above, each power-of-two range
// [2^e, 2^(e+1)) is split into kSubBuckets/2 equal buckets, so a bucket's width
// is at most 1/128 of any value in it. Percentile queries return the bucket's
// upper bound (clipped to the largest recorded value), hence a reported
// percentile v' of a true value v satisfies v <= v' <= v * (1 + 1/128).
#ifndef FASTREL_LOADTEST_HISTOGRAM_H_
#define FASTREL_LOADTEST_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace fastrel::loadtest {

// Thread-safety: none; callers serialize access (the runner holds a mutex).
class Histogram {
 public:
  // Exact range below this value; 128 sub-buckets per octave above it.
  static constexpr int kSubBucketBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Worst-case relative error of a reported percentile (upper bound).
  static constexpr double kMaxRelativeError = 2.0 / kSubBuckets;

  Histogram() = default;

  // Records `value` `count` times. Values are clamped to [0, kMaxValue].
  void Record(int64_t value, uint64_t count = 1);

  // Adds every sample of `other` into this histogram.
  void Merge(const Histogram& other);

  // Number of recorded samples.
  uint64_t count() const { return count_; }
  // Exact smallest / largest recorded value; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return count_ == 0 ? 0 : max_; }
  // Exact arithmetic mean; 0 when empty.
  double mean() const;

  // Value at percentile `p` in [0, 100]: the smallest bucket upper bound
  // such that at least ceil(p/100 * count) samples are <= it, clipped to
  // [min(), max()]. Monotone non-decreasing in p; ValueAtPercentile(100) ==
  // max(). Returns 0 when empty.
  int64_t ValueAtPercentile(double p) const;

  static constexpr int64_t kMaxValue = int64_t{1} << 40;

  // Bucket mapping, exposed for tests.
  static int BucketIndex(int64_t value);
  static int64_t BucketUpperBound(int index);

 private:
  std::vector<uint64_t> counts_;  // grown on demand
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_HISTOGRAM_H_
