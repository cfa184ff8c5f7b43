#include "engine/compile/int8_weights.h"

#include <utility>

namespace fastrel::compile {

std::optional<SparsePattern> PackedSparsePatternOf(
    std::optional<Pattern> pattern) {
  if (pattern == Pattern::k4x1) return SparsePattern::kBlock4x1;
  if (pattern == Pattern::k2of4) return SparsePattern::k2of4;
  if (pattern == Pattern::k1of4) return SparsePattern::k1of4;
  return std::nullopt;
}

absl::StatusOr<Int8LinearWeights> ToInt8LinearWeights(
    const CompressedLayer& c, std::optional<Pattern> pattern) {
  if (c.quantization != Quantization::kInt8 ||
      c.qweight.size() != static_cast<size_t>(c.rows * c.cols)) {
    return absl::InvalidArgumentError(
        "ToInt8LinearWeights: the layer is not int8-quantized");
  }
  Int8LinearWeights w;
  w.in = static_cast<int>(c.cols);
  w.out = static_cast<int>(c.rows);
  w.scales = c.scales;
  if (std::optional<SparsePattern> sp = PackedSparsePatternOf(pattern)) {
    absl::StatusOr<PackedSparseInt8> packed =
        PackedSparseInt8::Pack(*sp, c.qweight.data(), w.out, w.in);
    if (!packed.ok()) return packed.status();
    w.sparse.emplace(std::move(*packed));
  } else {
    w.dense_q = c.qweight;
  }
  return w;
}

}  // namespace fastrel::compile
