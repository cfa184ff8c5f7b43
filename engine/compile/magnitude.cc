#include "engine/compile/magnitude.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/compile/select.h"

namespace fastrel::compile {

absl::StatusOr<CompressedLayer> PruneMagnitude(absl::Span<const float> w,
                                               int64_t rows, int64_t cols,
                                               Pattern pattern,
                                               std::optional<double> sparsity,
                                               Quantization quantization) {
  if (absl::Status s = ValidateShape(pattern, rows, cols); !s.ok()) return s;
  absl::StatusOr<double> resolved = ResolveSparsity(pattern, sparsity);
  if (!resolved.ok()) return resolved.status();
  if (w.size() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PruneMagnitude: weight has %d values, expected %d x %d", w.size(),
        rows, cols));
  }
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PruneMagnitude: non-finite weight at index %d", i));
    }
  }

  CompressedLayer out;
  out.rows = rows;
  out.cols = cols;
  out.pattern = pattern;
  out.sparsity = *resolved;
  out.quantization = quantization;
  out.mask.assign(w.size(), 1);

  std::vector<double> scores(static_cast<size_t>(cols));
  std::vector<int64_t> order;
  const int64_t prune = PrunedPerRow(*resolved, cols);
  if (IsNofM(pattern)) {
    const int m = PatternGroup(pattern);
    const int drop = m - PatternKeep(pattern);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < cols; g += m) {
        for (int j = 0; j < m; ++j) scores[j] = std::abs(w[r * cols + g + j]);
        internal::SmallestIndices(scores.data(), m, drop, &order);
        for (int j = 0; j < drop; ++j) out.mask[r * cols + g + order[j]] = 0;
      }
    }
  } else {
    const int64_t group = pattern == Pattern::k4x1 ? 4 : 1;
    for (int64_t r0 = 0; r0 < rows; r0 += group) {
      for (int64_t c = 0; c < cols; ++c) {
        double s = 0.0;
        for (int64_t r = r0; r < r0 + group; ++r) {
          const double v = w[r * cols + c];
          s += v * v;
        }
        scores[c] = s;
      }
      internal::SmallestIndices(scores.data(), cols, prune, &order);
      for (int64_t j = 0; j < prune; ++j) {
        for (int64_t r = r0; r < r0 + group; ++r) {
          out.mask[r * cols + order[j]] = 0;
        }
      }
    }
  }

  out.weight.assign(w.size(), 0.0f);
  if (quantization == Quantization::kInt8) {
    out.qweight.assign(w.size(), 0);
    out.scales.assign(static_cast<size_t>(rows), 1.0f);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const size_t base = static_cast<size_t>(r * cols);
    if (quantization == Quantization::kInt8) {
      double max_abs = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        if (out.mask[base + c]) {
          max_abs =
              std::max(max_abs, static_cast<double>(std::abs(w[base + c])));
        }
      }
      const float scale = Int8Scale(max_abs);
      out.scales[r] = scale;
      for (int64_t c = 0; c < cols; ++c) {
        if (!out.mask[base + c]) continue;
        const int8_t q = QuantizeInt8(w[base + c], scale);
        out.qweight[base + c] = q;
        out.weight[base + c] = DequantizeInt8(q, scale);
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        if (out.mask[base + c]) out.weight[base + c] = w[base + c];
      }
    }
  }
  return out;
}

}  // namespace fastrel::compile
