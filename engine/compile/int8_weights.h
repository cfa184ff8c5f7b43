// Conversion of a compressed (pruned + int8-quantized) linear layer into the
// engine's int8 weights: the one place that decides which kernel format a
// compression pattern runs as. Used by fastrel-compile (compiled models) and
// fastrel-bench --synthetic_format (random-weight models).
#ifndef FASTREL_ENGINE_COMPILE_INT8_WEIGHTS_H_
#define FASTREL_ENGINE_COMPILE_INT8_WEIGHTS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/pattern.h"
#include "engine/kernels/sparse_format.h"
#include "engine/runtime/int8_linear.h"

namespace fastrel::compile {

// The packed sparse format that runs `pattern`: 4x1 -> kBlock4x1, 2:4 ->
// k2of4, 1:4 -> k1of4; nullopt (dense int8) for unstructured sparsity (no
// kernel skips scattered zeros) and for no pattern.
std::optional<SparsePattern> PackedSparsePatternOf(
    std::optional<Pattern> pattern);

// Int8LinearWeights of int8-quantized layer `c` (c.quantization == kInt8):
// shape and per-channel scales from `c`, weights packed in
// PackedSparsePatternOf(pattern) or kept as dense int8 codes. Bias and the
// static activation scale are left empty / 0 for the caller. Errors: the
// packing error (e.g. a mask that does not fit the pattern), or
// INVALID_ARGUMENT when `c` is not int8.
absl::StatusOr<Int8LinearWeights> ToInt8LinearWeights(
    const CompressedLayer& c, std::optional<Pattern> pattern);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_INT8_WEIGHTS_H_
