// One entry point for compressing a linear layer with either method, as the
// fastrel-compile tool's --method / --pattern / --sparsity / --quantize flags
// describe it.
//
// Ownership: inputs are borrowed only for the duration of a call; results are
// returned by value.
// Thread-safety: pure functions.
#ifndef FASTREL_ENGINE_COMPILE_COMPRESS_H_
#define FASTREL_ENGINE_COMPILE_COMPRESS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/obs.h"
#include "engine/compile/pattern.h"

namespace fastrel::compile {

enum class Method {
  kMagnitude,  // "magnitude": magnitude.h
  kObs,        // "obs": one-shot OBS / SparseGPT, obs.h
};

// Parses "magnitude" or "obs"; anything else is INVALID_ARGUMENT naming them.
absl::StatusOr<Method> ParseMethod(std::string_view text);
std::string_view MethodName(Method method);

// Parses "none" or "int8"; anything else is INVALID_ARGUMENT naming them.
absl::StatusOr<Quantization> ParseQuantization(std::string_view text);
std::string_view QuantizationName(Quantization quantization);

// Compresses the rows x cols layer `w` with `method`. `h` (cols x cols) is
// required for kObs and ignored for kMagnitude (may be empty). Quantization is
// options.quantization; the other options only matter for kObs. Errors as
// PruneMagnitude / PruneObs.
absl::StatusOr<CompressedLayer> CompressLayer(
    Method method, absl::Span<const float> w, int64_t rows, int64_t cols,
    absl::Span<const double> h, Pattern pattern, std::optional<double> sparsity,
    const ObsOptions& options = {});

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_COMPRESS_H_
