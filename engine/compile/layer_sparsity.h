// Per-linear sparsity overrides for fastrel-compile (--layer_sparsity) and
// the parameter-weighted overall sparsity of an encoder.
//
// Syntax: comma-separated items SELECTOR=VALUE, where
//   SELECTOR = KIND            every layer's linear of that kind
//            | LAYER.KIND      that layer only (LAYER: 0-based integer)
//            | LAYER.*         every linear of that layer
//   KIND     = query | key | value | attention_output | intermediate | output
//   VALUE    = a fraction of zero weights in the open interval (0, 1)
//            | dense            (no pruning; dense int8)
// e.g. "query=0.5,key=0.5,intermediate=0.85,output=0.85,3.*=0.9,3.value=0.8".
// Precedence (most specific wins): LAYER.KIND > LAYER.* > KIND > the tool's
// --sparsity. A selector given twice is an error; whitespace around items,
// selectors and values is ignored; an empty spec means no overrides.
//
// Thread-safety: pure functions / plain values.
#ifndef FASTREL_ENGINE_COMPILE_LAYER_SPARSITY_H_
#define FASTREL_ENGINE_COMPILE_LAYER_SPARSITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fastrel::compile {

// The encoder linear kinds a selector may name, in layer order.
inline constexpr std::string_view kLinearKindNames[] = {
    "query", "key", "value", "attention_output", "intermediate", "output"};

struct LayerSparsityRule {
  std::optional<int> layer;  // nullopt = every layer
  std::string kind;          // one of kLinearKindNames, or "*" (layer only)
  // Fraction of zeros in (0, 1); nullopt = dense (no pruning).
  std::optional<double> sparsity;
};

// A parsed --layer_sparsity spec. A plain value.
struct LayerSparsitySpec {
  std::vector<LayerSparsityRule> rules;

  bool empty() const { return rules.empty(); }

  // OK when every layer index is in [0, num_layers); otherwise
  // INVALID_ARGUMENT naming the selector and the model's layer count.
  absl::Status Validate(int num_layers) const;

  // The sparsity of linear `kind` in `layer`: the most specific matching
  // rule's value (nullopt = dense), else `default_sparsity`.
  std::optional<double> Resolve(int layer, std::string_view kind,
                                std::optional<double> default_sparsity) const;
};

// Parses the syntax above. Errors (INVALID_ARGUMENT, message naming the bad
// item): missing '=', unknown kind, bad or negative layer index, '*' without
// a layer, value not a number / "dense" or outside (0, 1), duplicate
// selector, empty item.
absl::StatusOr<LayerSparsitySpec> ParseLayerSparsity(std::string_view spec);

// One linear's weight count and fraction of zero weights.
struct LinearSparsity {
  int64_t weights = 0;
  double sparsity = 0;
};

// Parameter-weighted overall sparsity: sum(weights * sparsity) /
// sum(weights); 0 for an empty list or no weights.
double OverallSparsity(absl::Span<const LinearSparsity> linears);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_LAYER_SPARSITY_H_
