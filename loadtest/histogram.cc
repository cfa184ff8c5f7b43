#include "loadtest/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace fastrel::loadtest {

namespace {
constexpr uint64_t kHalf = Histogram::kSubBuckets / 2;
}  // namespace

int Histogram::BucketIndex(int64_t value) {
  const uint64_t v =
      static_cast<uint64_t>(std::clamp<int64_t>(value, 0, kMaxValue));
  if (v < kSubBuckets) return static_cast<int>(v);
  const int exponent = std::bit_width(v) - 1;  // v in [2^e, 2^(e+1))
  const int shift = exponent - (kSubBucketBits - 1);
  const uint64_t sub = (v >> shift) - kHalf;  // in [0, kHalf)
  return static_cast<int>(kSubBuckets +
                          static_cast<uint64_t>(shift - 1) * kHalf + sub);
}

int64_t Histogram::BucketUpperBound(int index) {
  const uint64_t i = static_cast<uint64_t>(index);
  if (i < kSubBuckets) return static_cast<int64_t>(i);
  const uint64_t shift = (i - kSubBuckets) / kHalf + 1;
  const uint64_t sub = (i - kSubBuckets) % kHalf;
  const uint64_t low = (kHalf + sub) << shift;
  return static_cast<int64_t>(low + (uint64_t{1} << shift) - 1);
}

void Histogram::Record(int64_t value, uint64_t count) {
  if (count == 0) return;
  value = std::clamp<int64_t>(value, 0, kMaxValue);
  const size_t index = static_cast<size_t>(BucketIndex(value));
  if (index >= counts_.size()) counts_.resize(index + 1, 0);
  counts_[index] += count;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += count;
  sum_ += static_cast<double>(value) * static_cast<double>(count);
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size())
    counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

int64_t Histogram::ValueAtPercentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(BucketUpperBound(static_cast<int>(i)), min_, max_);
    }
  }
  return max_;
}

}  // namespace fastrel::loadtest
