// Length-adaptive inference configuration (DESIGN.md, "Length-adaptive
// inference"): one keep ratio per encoder layer.
#ifndef FASTREL_ENGINE_RUNTIME_LENGTH_CONFIG_H_
#define FASTREL_ENGINE_RUNTIME_LENGTH_CONFIG_H_

#include <vector>

#include "absl/status/status.h"

namespace fastrel {

// keep_ratios empty = the full model. Otherwise one ratio per layer,
// non-increasing, each in (0, 1]. In layer l, after the attention block, a
// sequence of real length n keeps k_l = min(k_{l-1}, max(1, ceil(r_l * n)))
// tokens (k_0 = n), chosen by attention received; [CLS] always stays.
struct LengthConfig {
  std::vector<double> keep_ratios;

  bool is_full() const;
  // Tokens a sequence of length n keeps after layer `layer` (0-based).
  int KeptTokens(int layer, int n) const;
  // OK, or INVALID_ARGUMENT naming the problem (wrong number of layers, ratio
  // outside (0, 1], not non-increasing).
  absl::Status Validate(int num_layers) const;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_LENGTH_CONFIG_H_
