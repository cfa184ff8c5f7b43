// Streaming accumulation of the layer Hessian H = (2/n) sum_x x x^T of the
// squared reconstruction error ||W X - W' X||^2 of a linear layer with K
// inputs, over n calibration rows x (the layer's inputs, as produced by the
// already-compressed earlier layers).
//
// Precision: rows arrive as fp32 and are converted to double; the sum of
// outer products is accumulated in double (fp64 GEMM, dense_linalg.h), so
// millions of rows add up without the drift an fp32 sum would have.
//
// Ownership: Add() copies what it needs; rows are not retained.
// Thread-safety: not thread-safe. Use one accumulator per thread (or per
// shard of the calibration set) and Merge() them at the end.
#ifndef FASTREL_ENGINE_COMPILE_HESSIAN_H_
#define FASTREL_ENGINE_COMPILE_HESSIAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fastrel::compile {

class HessianAccumulator {
 public:
  // An empty accumulator for a layer with `dim` inputs (K). dim must be
  // positive; a non-positive dim yields an accumulator whose Add/Hessian
  // return INVALID_ARGUMENT.
  explicit HessianAccumulator(int64_t dim);

  HessianAccumulator(const HessianAccumulator&) = default;
  HessianAccumulator& operator=(const HessianAccumulator&) = default;
  HessianAccumulator(HessianAccumulator&&) = default;
  HessianAccumulator& operator=(HessianAccumulator&&) = default;

  // Adds `num_rows` calibration rows: `rows` is num_rows x dim, row-major
  // (e.g. all token activations of a batch entering the layer; padding rows
  // must be left out by the caller). INVALID_ARGUMENT (and nothing added)
  // when the size is not num_rows * dim or a value is not finite.
  absl::Status Add(absl::Span<const float> rows, int64_t num_rows);

  // Adds the rows accumulated by `other` (same dim, else INVALID_ARGUMENT).
  // After merging, Hessian() is that of the union of both row sets.
  absl::Status Merge(const HessianAccumulator& other);

  // H = (2 / count) * sum x x^T as a dim x dim row-major symmetric matrix.
  // FAILED_PRECONDITION when no row has been added.
  absl::StatusOr<std::vector<double>> Hessian() const;

  int64_t dim() const { return dim_; }
  // Number of rows added so far (n).
  int64_t count() const { return count_; }

 private:
  int64_t dim_;
  int64_t count_ = 0;
  std::vector<double> sum_;  // sum x x^T, dim x dim; only the lower triangle
                             // (including the diagonal) is maintained.
};

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_HESSIAN_H_
