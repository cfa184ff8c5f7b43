#include "engine/compile/compressed_layer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace fastrel::compile {

float Int8Scale(double max_abs) {
  if (!(max_abs > 0.0) || !std::isfinite(max_abs)) return 1.0f;
  const float s = static_cast<float>(max_abs / kInt8Max);
  // A subnormal max_abs could round the scale to zero; keep it positive.
  return s > 0.0f ? s : 1.0f;
}

int8_t QuantizeInt8(double w, float scale) {
  double q = std::round(w / static_cast<double>(scale));
  if (!(q >= -kInt8Max)) q = -kInt8Max;  // also maps NaN to -127
  if (q > kInt8Max) q = kInt8Max;
  return static_cast<int8_t>(q);
}

absl::StatusOr<CompressedLayer> QuantizeDenseInt8(absl::Span<const float> w,
                                                  int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0 || w.size() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("QuantizeDenseInt8: %d values for a %d x %d matrix",
                        w.size(), rows, cols));
  }
  CompressedLayer out;
  out.rows = rows;
  out.cols = cols;
  out.quantization = Quantization::kInt8;
  out.mask.assign(w.size(), 1);
  out.weight.assign(w.size(), 0.0f);
  out.qweight.assign(w.size(), 0);
  out.scales.assign(static_cast<size_t>(rows), 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    double max_abs = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = w[r * cols + c];
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "QuantizeDenseInt8: non-finite value at row %d, column %d", r, c));
      }
      max_abs = std::max(max_abs, static_cast<double>(std::abs(v)));
    }
    const float scale = Int8Scale(max_abs);
    out.scales[r] = scale;
    for (int64_t c = 0; c < cols; ++c) {
      const int8_t q = QuantizeInt8(w[r * cols + c], scale);
      out.qweight[r * cols + c] = q;
      out.weight[r * cols + c] = DequantizeInt8(q, scale);
    }
  }
  return out;
}

}  // namespace fastrel::compile
