// Magnitude pruning (the baseline): keep the largest weights, per pattern, and
// optionally quantize the kept ones to int8 by round-to-nearest.
//
// Selection (ties always go to the lower column index, so results are
// deterministic):
//  - unstructured: per row, prune the PrunedPerRow(sparsity, K) smallest |w|.
//    Per row rather than one layer-wide threshold: every row then has the same
//    number of non-zeros (balanced work for the sparse int8 kernels, which
//    split rows across threads), the same contract the OBS pruner meets, and
//    no row can be wiped out by a layer-wide threshold.
//  - 4x1: per group of 4 rows, score each input column by the sum of squares
//    of its 4 weights and prune the PrunedPerRow(sparsity, K) lowest columns.
//  - N:M: per row and group of 4 consecutive inputs, keep the N largest |w|.
// Quantization (kInt8): per row, scale = max |w| over the KEPT weights / 127,
// q = round-to-nearest(w / scale).
//
// Ownership: inputs are borrowed only for the duration of a call; results are
// returned by value.
// Thread-safety: pure function.
#ifndef FASTREL_ENGINE_COMPILE_MAGNITUDE_H_
#define FASTREL_ENGINE_COMPILE_MAGNITUDE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/pattern.h"

namespace fastrel::compile {

// Prunes the rows x cols row-major fp32 weight matrix `w` (rows = output
// channels). `sparsity` follows ResolveSparsity (required in (0, 1) for
// unstructured / 4x1; absent or the implied value for N:M).
// INVALID_ARGUMENT for a bad shape (ValidateShape), a size mismatch, a bad
// sparsity, or a non-finite weight.
absl::StatusOr<CompressedLayer> PruneMagnitude(absl::Span<const float> w,
                                               int64_t rows, int64_t cols,
                                               Pattern pattern,
                                               std::optional<double> sparsity,
                                               Quantization quantization);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_MAGNITUDE_H_
