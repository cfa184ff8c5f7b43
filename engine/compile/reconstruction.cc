#include "engine/compile/reconstruction.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/compile/dense_linalg.h"

namespace fastrel::compile {

absl::StatusOr<double> RelativeReconstructionError(
    absl::Span<const float> original, absl::Span<const float> compressed,
    int64_t rows, int64_t cols, absl::Span<const double> h) {
  if (rows <= 0 || cols <= 0 ||
      original.size() != static_cast<size_t>(rows * cols) ||
      compressed.size() != original.size() ||
      h.size() != static_cast<size_t>(cols * cols)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RelativeReconstructionError: sizes %d, %d, %d do not match a %d x %d "
        "layer",
        original.size(), compressed.size(), h.size(), rows, cols));
  }
  // Stack [W - W'; W] so one GEMM gives both (W - W') H and W H.
  std::vector<double> a(static_cast<size_t>(2 * rows * cols));
  for (size_t k = 0; k < original.size(); ++k) {
    const double wo = original[k];
    const double wc = compressed[k];
    if (!std::isfinite(wo) || !std::isfinite(wc)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "RelativeReconstructionError: non-finite weight at index %d", k));
    }
    a[k] = wo - wc;
    a[original.size() + k] = wo;
  }
  for (size_t k = 0; k < h.size(); ++k) {
    if (!std::isfinite(h[k])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "RelativeReconstructionError: non-finite Hessian entry %d", k));
    }
  }
  std::vector<double> ah(a.size(), 0.0);
  Gemm(/*trans_b=*/false, 2 * rows, cols, cols, 1.0, a.data(), cols, h.data(),
       cols, ah.data(), cols);
  double num = 0.0;
  double den = 0.0;
  for (size_t k = 0; k < original.size(); ++k) num += ah[k] * a[k];
  for (size_t k = original.size(); k < a.size(); ++k) den += ah[k] * a[k];
  if (!(den > 0.0)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "RelativeReconstructionError: tr(W H W^T) = %g; the layer output is "
        "zero on the calibration data",
        den));
  }
  return num / den;
}

}  // namespace fastrel::compile
