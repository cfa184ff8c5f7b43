#include "engine/runtime/length_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fastrel {

bool LengthConfig::is_full() const {
  return std::all_of(keep_ratios.begin(), keep_ratios.end(),
                     [](double r) { return r >= 1.0; });
}

int LengthConfig::KeptTokens(int layer, int n) const {
  if (keep_ratios.empty()) return n;
  int k = n;
  const int last =
      std::min<int>(layer, static_cast<int>(keep_ratios.size()) - 1);
  for (int l = 0; l <= last; ++l) {
    // The 1e-9 guards ceil against ratios like 0.7 * 10 = 7.000000000000001,
    // exactly as recipe/bert_ref.py does.
    const int want =
        std::max(1, static_cast<int>(std::ceil(keep_ratios[l] * n - 1e-9)));
    k = std::min(k, want);
  }
  return k;
}

absl::Status LengthConfig::Validate(int num_layers) const {
  if (keep_ratios.empty()) return absl::OkStatus();
  if (static_cast<int>(keep_ratios.size()) != num_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("length config has ", keep_ratios.size(),
                     " keep ratios; the model has ", num_layers, " layers"));
  }
  for (int l = 0; l < num_layers; ++l) {
    const double r = keep_ratios[l];
    if (!(r > 0.0 && r <= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "keep ratio of layer ", l, " is ", r, "; must be in (0, 1]"));
    }
    if (l > 0 && r > keep_ratios[l - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("keep ratios must be non-increasing; layer ", l, " has ",
                       r, " > layer ", l - 1, "'s ", keep_ratios[l - 1]));
    }
  }
  return absl::OkStatus();
}

}  // namespace fastrel
