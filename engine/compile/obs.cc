#include "engine/compile/obs.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/compile/dense_linalg.h"
#include "engine/compile/select.h"

namespace fastrel::compile {
namespace {

// Smallest damping fraction tried after a failed factorization (when the
// requested percdamp was 0 or tiny).
constexpr double kMinRetryDamping = 1e-3;

absl::Status ValidateInputs(absl::Span<const float> w, int64_t rows,
                            int64_t cols, absl::Span<const double> h,
                            Pattern pattern, const ObsOptions& options) {
  if (absl::Status s = ValidateShape(pattern, rows, cols); !s.ok()) return s;
  if (w.size() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PruneObs: weight has %d values, expected %d x %d",
                        w.size(), rows, cols));
  }
  if (h.size() != static_cast<size_t>(cols * cols)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PruneObs: Hessian has %d values, expected %d x %d",
                        h.size(), cols, cols));
  }
  if (options.block_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PruneObs: block_size must be >= 1, got %d", options.block_size));
  }
  if (IsNofM(pattern) && options.block_size % PatternGroup(pattern) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PruneObs: pattern %s needs block_size to be a multiple of %d, got %d",
        PatternName(pattern), PatternGroup(pattern), options.block_size));
  }
  if (!std::isfinite(options.percdamp) || options.percdamp < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PruneObs: percdamp must be finite and >= 0, got %g",
                        options.percdamp));
  }
  if (options.max_damping_retries < 0) {
    return absl::InvalidArgumentError("PruneObs: max_damping_retries < 0");
  }
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PruneObs: non-finite weight at index %d", i));
    }
  }
  for (size_t i = 0; i < h.size(); ++i) {
    if (!std::isfinite(h[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PruneObs: non-finite Hessian entry at index %d", i));
    }
  }
  for (int64_t i = 0; i < cols; ++i) {
    if (h[i * cols + i] < 0.0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PruneObs: Hessian diagonal entry %d is negative (%g); not a "
          "Hessian of the form 2/n sum x x^T",
          i, h[i * cols + i]));
    }
  }
  return absl::OkStatus();
}

// Marks pruned positions in `mask` for the block [i1, i2) (unstructured and
// 4x1): per group of `group` rows, prune the `count` lowest-saliency columns.
void SelectBlockMask(const std::vector<double>& wd,
                     const std::vector<double>& u, int64_t rows, int64_t cols,
                     int64_t i1, int64_t i2, int64_t group, int64_t count,
                     std::vector<uint8_t>* mask) {
  if (count <= 0) return;
  const int64_t width = i2 - i1;
  std::vector<double> scores(static_cast<size_t>(width));
  std::vector<double> inv_d2(static_cast<size_t>(width));
  for (int64_t j = 0; j < width; ++j) {
    const double d = u[(i1 + j) * cols + (i1 + j)];
    inv_d2[j] = 1.0 / (d * d);
  }
  std::vector<int64_t> order;
  for (int64_t r0 = 0; r0 < rows; r0 += group) {
    std::fill(scores.begin(), scores.end(), 0.0);
    for (int64_t r = r0; r < r0 + group; ++r) {
      const double* row = wd.data() + r * cols + i1;
      for (int64_t j = 0; j < width; ++j) scores[j] += row[j] * row[j];
    }
    for (int64_t j = 0; j < width; ++j) scores[j] *= inv_d2[j];
    internal::SmallestIndices(scores.data(), width, count, &order);
    for (int64_t t = 0; t < count; ++t) {
      for (int64_t r = r0; r < r0 + group; ++r) {
        (*mask)[r * cols + i1 + order[t]] = 0;
      }
    }
  }
}

// The mask of the zeros already in `w` (1 = kept): unstructured, every
// nonzero weight; 4x1, every block of 4 rows in one column with a nonzero.
std::vector<uint8_t> SourceZerosMask(absl::Span<const float> w, int64_t rows,
                                     int64_t cols, Pattern pattern) {
  std::vector<uint8_t> mask(static_cast<size_t>(rows * cols));
  const int64_t group = pattern == Pattern::k4x1 ? 4 : 1;
  for (int64_t r0 = 0; r0 < rows; r0 += group) {
    for (int64_t c = 0; c < cols; ++c) {
      uint8_t any = 0;
      for (int64_t r = r0; r < r0 + group; ++r) any |= w[r * cols + c] != 0.0f;
      for (int64_t r = r0; r < r0 + group; ++r) mask[r * cols + c] = any;
    }
  }
  return mask;
}

// N:M: at column i (a multiple of M), per row prune the M - N lowest-saliency
// weights of columns [i, i + M).
void SelectGroupMask(const std::vector<double>& wd,
                     const std::vector<double>& u, int64_t rows, int64_t cols,
                     int64_t i, Pattern pattern, std::vector<uint8_t>* mask) {
  const int m = PatternGroup(pattern);
  const int drop = m - PatternKeep(pattern);
  double inv_d2[4];
  for (int j = 0; j < m; ++j) {
    const double d = u[(i + j) * cols + (i + j)];
    inv_d2[j] = 1.0 / (d * d);
  }
  double scores[4];
  std::vector<int64_t> order;
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = wd.data() + r * cols + i;
    for (int j = 0; j < m; ++j) scores[j] = row[j] * row[j] * inv_d2[j];
    internal::SmallestIndices(scores, m, drop, &order);
    for (int t = 0; t < drop; ++t) (*mask)[r * cols + i + order[t]] = 0;
  }
}

}  // namespace

absl::StatusOr<ObsResult> PruneObs(absl::Span<const float> w, int64_t rows,
                                   int64_t cols, absl::Span<const double> h,
                                   Pattern pattern,
                                   std::optional<double> sparsity,
                                   const ObsOptions& options) {
  if (absl::Status s = ValidateInputs(w, rows, cols, h, pattern, options);
      !s.ok()) {
    return s;
  }
  std::vector<uint8_t> source_mask;
  absl::StatusOr<double> resolved;
  if (options.keep_source_zeros) {
    if (IsNofM(pattern) || sparsity.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PruneObs: keep_source_zeros needs pattern unstructured or 4x1 "
          "(got %s) and no sparsity (the source's zeros are the mask)",
          PatternName(pattern)));
    }
    source_mask = SourceZerosMask(w, rows, cols, pattern);
    resolved = static_cast<double>(
                   std::count(source_mask.begin(), source_mask.end(), 0)) /
               static_cast<double>(source_mask.size());
  } else {
    resolved = ResolveSparsity(pattern, sparsity);
    if (!resolved.ok()) return resolved.status();
  }
  const bool quantize = options.quantization == Quantization::kInt8;

  ObsResult result;
  CompressedLayer& out = result.layer;
  out.rows = rows;
  out.cols = cols;
  out.pattern = pattern;
  out.sparsity = *resolved;
  out.quantization = options.quantization;

  std::vector<double> wd(w.begin(), w.end());
  std::vector<double> hd(h.begin(), h.end());

  // 1. Dead inputs, then the damping base.
  double diag_sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) {
    if (hd[i * cols + i] == 0.0) {
      ++result.dead_inputs;
      hd[i * cols + i] = 1.0;
      for (int64_t r = 0; r < rows; ++r) wd[r * cols + i] = 0.0;
    }
    diag_sum += hd[i * cols + i];
  }
  const double mean_diag = diag_sum / static_cast<double>(cols);

  // 2. U = upper Cholesky factor of (H + lambda I)^{-1}, raising lambda when
  //    the factorization fails.
  double damping = options.percdamp;
  std::vector<double> u;
  for (int attempt = 0;; ++attempt) {
    std::vector<double> damped = hd;
    for (int64_t i = 0; i < cols; ++i) {
      damped[i * cols + i] += damping * mean_diag;
    }
    absl::StatusOr<std::vector<double>> factor =
        UpperCholeskyOfInverse(cols, std::move(damped));
    if (factor.ok()) {
      u = *std::move(factor);
      break;
    }
    if (attempt >= options.max_damping_retries) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "PruneObs: Hessian (%d x %d) is not positive definite even with "
          "damping %g * mean(diag H) after %d retries: %s",
          cols, cols, damping, attempt, factor.status().message()));
    }
    damping = std::max(damping * 10.0, kMinRetryDamping);
  }
  result.damping_used = damping;

  // 4. Per-channel scales, fixed up front (GPTQ style).
  if (quantize) {
    out.scales.assign(static_cast<size_t>(rows), 1.0f);
    out.qweight.assign(static_cast<size_t>(rows * cols), 0);
    for (int64_t r = 0; r < rows; ++r) {
      double max_abs = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        max_abs = std::max(max_abs, std::abs(wd[r * cols + c]));
      }
      out.scales[r] = Int8Scale(max_abs);
    }
  }

  // 3. The column sweep.
  if (options.keep_source_zeros) {
    out.mask = std::move(source_mask);
  } else {
    out.mask.assign(static_cast<size_t>(rows * cols), 1);
  }
  const int64_t bs = options.block_size;
  std::vector<double> err(static_cast<size_t>(rows * std::min(bs, cols)));
  for (int64_t i1 = 0; i1 < cols; i1 += bs) {
    const int64_t i2 = std::min(i1 + bs, cols);
    const int64_t width = i2 - i1;
    // (With keep_source_zeros the mask is the source's, fixed above.)
    if (!options.keep_source_zeros &&
        (pattern == Pattern::kUnstructured || pattern == Pattern::k4x1)) {
      const int64_t count =
          PrunedPerRow(*resolved, i2) - PrunedPerRow(*resolved, i1);
      SelectBlockMask(wd, u, rows, cols, i1, i2,
                      pattern == Pattern::k4x1 ? 4 : 1, count, &out.mask);
    }
    for (int64_t i = i1; i < i2; ++i) {
      if (IsNofM(pattern) && i % PatternGroup(pattern) == 0) {
        SelectGroupMask(wd, u, rows, cols, i, pattern, &out.mask);
      }
      const double* u_row = u.data() + i * cols;
      const double d = u_row[i];
      for (int64_t r = 0; r < rows; ++r) {
        double* w_row = wd.data() + r * cols;
        const double wi = w_row[i];
        double q = 0.0;
        if (out.mask[r * cols + i]) {
          if (quantize) {
            const int8_t qi = QuantizeInt8(wi, out.scales[r]);
            out.qweight[r * cols + i] = qi;
            q = static_cast<double>(out.scales[r]) * qi;
          } else {
            q = wi;
          }
        }
        const double e = (wi - q) / d;
        result.obs_loss += 0.5 * e * e;
        err[r * width + (i - i1)] = e;
        w_row[i] = q;
        for (int64_t j = i + 1; j < i2; ++j) w_row[j] -= e * u_row[j];
      }
    }
    // Lazy update of all later columns: W[:, i2:] -= Err U[i1:i2, i2:].
    Gemm(/*trans_b=*/false, rows, cols - i2, width, -1.0, err.data(), width,
         u.data() + i1 * cols + i2, cols, wd.data() + i2, cols);
  }

  out.weight.assign(static_cast<size_t>(rows * cols), 0.0f);
  for (size_t k = 0; k < out.weight.size(); ++k) {
    if (!out.mask[k]) continue;
    out.weight[k] = quantize
                        ? DequantizeInt8(out.qweight[k], out.scales[k / cols])
                        : static_cast<float>(wd[k]);
  }
  return result;
}

}  // namespace fastrel::compile
