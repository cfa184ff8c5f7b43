// The result of compressing one linear layer, and the int8 quantizer shared by
// the magnitude and OBS pruners.
//
// Quantization is symmetric, per output channel (row): q = clamp(round(w / s),
// -127, 127), w' = s * q, with s = max|w| / 127 over the row's weights (which
// weights: see each pruner). -128 is never produced, so kernels may negate
// freely. An all-zero row gets s = 1 (any positive scale represents it), so a
// scale is never zero or negative.
//
// Ownership: inputs are borrowed only for the duration of a call; results are
// returned by value.
// Thread-safety: plain data and pure functions.
#ifndef FASTREL_ENGINE_COMPILE_COMPRESSED_LAYER_H_
#define FASTREL_ENGINE_COMPILE_COMPRESSED_LAYER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/compile/pattern.h"

namespace fastrel::compile {

enum class Quantization {
  kNone,  // keep fp32 weights
  kInt8,  // symmetric per-output-channel int8
};

// A pruned (and optionally quantized) rows x cols layer, row-major.
struct CompressedLayer {
  int64_t rows = 0;
  int64_t cols = 0;
  Pattern pattern = Pattern::kUnstructured;
  double sparsity = 0.0;  // the resolved sparsity (ResolveSparsity)
  Quantization quantization = Quantization::kNone;

  // rows x cols fp32 weights: 0 where pruned. When quantized, a kept weight
  // is exactly scales[r] * static_cast<float>(qweight[r * cols + c]) (float
  // arithmetic), i.e. the dequantized value.
  std::vector<float> weight;
  // rows x cols: 1 = kept, 0 = pruned; conforms to CheckMask(pattern,
  // sparsity). A kept weight may still be zero (e.g. a dead input).
  std::vector<uint8_t> mask;
  // kInt8 only (empty otherwise): rows x cols values in [-127, 127], 0 where
  // pruned, and rows per-channel scales (> 0).
  std::vector<int8_t> qweight;
  std::vector<float> scales;
};

// Largest magnitude an int8 weight takes (symmetric range, -128 unused).
inline constexpr int kInt8Max = 127;

// Per-row scale for a row whose largest kept magnitude is `max_abs`:
// max_abs / 127, or 1 when max_abs is 0 (or not a positive finite number).
float Int8Scale(double max_abs);

// clamp(round-half-away-from-zero(w / scale), -127, 127).
int8_t QuantizeInt8(double w, float scale);

// The dequantized value, computed exactly as CompressedLayer::weight is.
inline float DequantizeInt8(int8_t q, float scale) {
  return scale * static_cast<float>(q);
}

// Dense (unpruned) round-to-nearest int8 quantization of a rows x cols
// row-major matrix, per row (e.g. an embedding table kept dense, or a layer
// left unpruned): mask all ones, pattern kUnstructured, sparsity 0, scale =
// max |w| of the row / 127. INVALID_ARGUMENT on a bad shape, a size mismatch
// or a non-finite value.
absl::StatusOr<CompressedLayer> QuantizeDenseInt8(absl::Span<const float> w,
                                                  int64_t rows, int64_t cols);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_COMPRESSED_LAYER_H_
