// Sparsity patterns of the compressor (unstructured, 4x1, 2:4, 1:4), how a
// requested sparsity maps to exact per-row counts, and a mask checker.
//
// Weight layout everywhere in engine/compile: W is [rows = N output channels]
// x [cols = K input channels], row-major fp32 (y = W x). A mask has the same
// shape, one byte per weight: 1 = kept, 0 = pruned.
//
// Exact counts (the contract every pruner here meets and CheckMask verifies):
//  - unstructured: every row prunes exactly PrunedPerRow(sparsity, K) weights
//    (uniform rows keep the sparse kernels' work balanced);
//  - 4x1: rows 4g..4g+3 share one mask row, which prunes exactly
//    PrunedPerRow(sparsity, K) input columns;
//  - N:M (2:4, 1:4): every row, in every group of M = 4 consecutive columns
//    starting at a multiple of 4, keeps exactly N weights.
//
// Thread-safety: all functions are pure.
#ifndef FASTREL_ENGINE_COMPILE_PATTERN_H_
#define FASTREL_ENGINE_COMPILE_PATTERN_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fastrel::compile {

enum class Pattern {
  kUnstructured,  // "unstructured": any weight may be pruned.
  k4x1,           // "4x1": 4 output channels x 1 input channel blocks.
  k2of4,          // "2:4": keep 2 of every 4 consecutive inputs (50%).
  k1of4,          // "1:4": keep 1 of every 4 consecutive inputs (75%).
};

// Parses "unstructured", "4x1", "2:4" or "1:4" (exact spelling). Anything
// else is INVALID_ARGUMENT naming the valid spellings.
absl::StatusOr<Pattern> ParsePattern(std::string_view text);

// The spelling ParsePattern accepts.
std::string_view PatternName(Pattern pattern);

// True for the N:M patterns (2:4, 1:4).
bool IsNofM(Pattern pattern);
// N and M of an N:M pattern (kept per group, group size); 0 for the others.
int PatternKeep(Pattern pattern);
int PatternGroup(Pattern pattern);

// The sparsity a pattern will produce, given the requested one:
//  - unstructured / 4x1: `requested` is required and must be finite and in
//    the open interval (0, 1);
//  - N:M: the sparsity is implied (2:4 -> 0.5, 1:4 -> 0.75). `requested` may
//    be absent, or equal to the implied value (within 1e-9); any other value
//    is INVALID_ARGUMENT (a --sparsity that disagrees with the pattern is a
//    user error, not something to silently ignore).
absl::StatusOr<double> ResolveSparsity(Pattern pattern,
                                       std::optional<double> requested);

// Number of weights pruned per row (per 4-row group for 4x1) of a layer with
// `cols` inputs: llround(sparsity * cols). For N:M patterns with cols a
// multiple of 4 this equals (M - N) / M * cols.
int64_t PrunedPerRow(double sparsity, int64_t cols);

// Checks that a rows x cols layer can take `pattern`: both positive,
// rows % 4 == 0 for 4x1, cols % 4 == 0 for N:M. INVALID_ARGUMENT otherwise.
absl::Status ValidateShape(Pattern pattern, int64_t rows, int64_t cols);

// Verifies that `mask` (rows x cols, 1 = kept, 0 = pruned, no other values)
// conforms exactly to `pattern` at `sparsity` (as returned by
// ResolveSparsity), with the exact counts described at the top of this file.
// Returns INVALID_ARGUMENT describing the first violation.
absl::Status CheckMask(absl::Span<const uint8_t> mask, int64_t rows,
                       int64_t cols, Pattern pattern, double sparsity);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_PATTERN_H_
