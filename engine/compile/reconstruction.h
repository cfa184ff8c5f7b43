// Per-layer reconstruction error on the calibration data, from the Hessian
// alone (no need to keep the activations):
//   ||W X - W' X||_F^2 / ||W X||_F^2 = tr((W - W') H (W - W')^T) / tr(W H W^T)
// for H = (2/n) X X^T (the 2/n cancels). Columns of X are calibration rows.
//
// Ownership: inputs are borrowed only for the duration of a call; results are
// returned by value.
// Thread-safety: pure function.
#ifndef FASTREL_ENGINE_COMPILE_RECONSTRUCTION_H_
#define FASTREL_ENGINE_COMPILE_RECONSTRUCTION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fastrel::compile {

// `original` and `compressed` are rows x cols row-major; `h` is the cols x
// cols Hessian (HessianAccumulator::Hessian(), undamped). Returns the relative
// error above (>= 0 up to rounding). INVALID_ARGUMENT on size mismatches or
// non-finite values; FAILED_PRECONDITION when tr(W H W^T) is not positive
// (the original layer's output is zero on the calibration data).
// Cost: one rows x cols x cols GEMM in double.
absl::StatusOr<double> RelativeReconstructionError(
    absl::Span<const float> original, absl::Span<const float> compressed,
    int64_t rows, int64_t cols, absl::Span<const double> h);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_RECONSTRUCTION_H_
