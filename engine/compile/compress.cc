#include "engine/compile/compress.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "engine/compile/magnitude.h"

namespace fastrel::compile {

absl::StatusOr<Method> ParseMethod(std::string_view text) {
  if (text == "magnitude") return Method::kMagnitude;
  if (text == "obs") return Method::kObs;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown pruning method '%s'; valid methods: magnitude, obs", text));
}

std::string_view MethodName(Method method) {
  return method == Method::kObs ? "obs" : "magnitude";
}

absl::StatusOr<Quantization> ParseQuantization(std::string_view text) {
  if (text == "none") return Quantization::kNone;
  if (text == "int8") return Quantization::kInt8;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown quantization '%s'; valid values: none, int8", text));
}

std::string_view QuantizationName(Quantization quantization) {
  return quantization == Quantization::kInt8 ? "int8" : "none";
}

absl::StatusOr<CompressedLayer> CompressLayer(
    Method method, absl::Span<const float> w, int64_t rows, int64_t cols,
    absl::Span<const double> h, Pattern pattern, std::optional<double> sparsity,
    const ObsOptions& options) {
  if (method == Method::kMagnitude) {
    return PruneMagnitude(w, rows, cols, pattern, sparsity,
                          options.quantization);
  }
  absl::StatusOr<ObsResult> result =
      PruneObs(w, rows, cols, h, pattern, sparsity, options);
  if (!result.ok()) return result.status();
  return std::move(result->layer);
}

}  // namespace fastrel::compile
