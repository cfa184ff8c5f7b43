#include "engine/compile/hessian.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "engine/compile/dense_linalg.h"

namespace fastrel::compile {
namespace {

// Rows converted to double per GEMM call (bounds the scratch memory to
// 2 * kRowChunk * dim doubles).
constexpr int64_t kRowChunk = 256;
// Block of H rows/columns: only blocks on or below the diagonal are computed.
constexpr int64_t kBlock = 128;

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t dim) : dim_(dim) {
  if (dim_ > 0) sum_.assign(static_cast<size_t>(dim_ * dim_), 0.0);
}

absl::Status HessianAccumulator::Add(absl::Span<const float> rows,
                                     int64_t num_rows) {
  if (dim_ <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("HessianAccumulator has invalid dim %d", dim_));
  }
  if (num_rows < 0 || rows.size() != static_cast<size_t>(num_rows * dim_)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HessianAccumulator::Add: got %d values for %d rows of %d", rows.size(),
        num_rows, dim_));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!std::isfinite(rows[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "HessianAccumulator::Add: non-finite activation at row %d, column %d",
          static_cast<int64_t>(i) / dim_, static_cast<int64_t>(i) % dim_));
    }
  }
  std::vector<double> x;   // chunk x dim
  std::vector<double> xt;  // dim x chunk
  for (int64_t r0 = 0; r0 < num_rows; r0 += kRowChunk) {
    const int64_t m = std::min(kRowChunk, num_rows - r0);
    x.resize(static_cast<size_t>(m * dim_));
    xt.resize(static_cast<size_t>(m * dim_));
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t c = 0; c < dim_; ++c) {
        const double v = rows[(r0 + r) * dim_ + c];
        x[r * dim_ + c] = v;
        xt[c * m + r] = v;
      }
    }
    // sum[I, J] += X[:, I]^T X[:, J] for blocks J <= I.
    for (int64_t i0 = 0; i0 < dim_; i0 += kBlock) {
      const int64_t bi = std::min(kBlock, dim_ - i0);
      Gemm(/*trans_b=*/false, bi, i0 + bi, m, 1.0, xt.data() + i0 * m, m,
           x.data(), dim_, sum_.data() + i0 * dim_, dim_);
    }
  }
  count_ += num_rows;
  return absl::OkStatus();
}

absl::Status HessianAccumulator::Merge(const HessianAccumulator& other) {
  if (other.dim_ != dim_ || dim_ <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HessianAccumulator::Merge: dim %d vs %d", dim_, other.dim_));
  }
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += other.sum_[i];
  count_ += other.count_;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> HessianAccumulator::Hessian() const {
  if (dim_ <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("HessianAccumulator has invalid dim %d", dim_));
  }
  if (count_ == 0) {
    return absl::FailedPreconditionError(
        "HessianAccumulator::Hessian: no calibration rows were added");
  }
  const double scale = 2.0 / static_cast<double>(count_);
  std::vector<double> h(sum_.size());
  for (int64_t i = 0; i < dim_; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      const double v = scale * sum_[i * dim_ + j];
      h[i * dim_ + j] = v;
      h[j * dim_ + i] = v;
    }
  }
  return h;
}

}  // namespace fastrel::compile
