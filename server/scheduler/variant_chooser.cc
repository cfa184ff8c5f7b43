#include "server/scheduler/variant_chooser.h"

#include <algorithm>

namespace fastrel::server {
namespace {

bool ValidPin(const VariantChoiceInput& input) {
  return input.pinned_variant >= 0 &&
         input.pinned_variant < static_cast<int>(input.predicted_cost.size());
}

}  // namespace

int MostAccurateChooser::Choose(const VariantChoiceInput& input) const {
  return ValidPin(input) ? input.pinned_variant : 0;
}

CostAwareChooser::CostAwareChooser(const CostAwareChooserOptions& options)
    : options_{std::max(0.0, options.relative_margin),
               std::max(absl::ZeroDuration(), options.absolute_margin)} {}

bool CostAwareChooser::Fits(absl::Time now, absl::Duration predicted,
                            absl::Time deadline) const {
  if (predicted == absl::InfiniteDuration()) return false;
  const absl::Duration with_margin = predicted +
                                     predicted * options_.relative_margin +
                                     options_.absolute_margin;
  return now + with_margin <= deadline;
}

int CostAwareChooser::Choose(const VariantChoiceInput& input) const {
  if (ValidPin(input)) return input.pinned_variant;
  const int n = static_cast<int>(input.predicted_cost.size());
  int cheapest = 0;
  for (int v = 0; v < n; ++v) {
    const absl::Duration cost = input.predicted_cost[v];
    if (cost <= absl::ZeroDuration() ||
        Fits(input.now, cost, input.earliest_deadline)) {
      return v;
    }
    if (cost < input.predicted_cost[cheapest]) cheapest = v;
  }
  return cheapest;
}

}  // namespace fastrel::server
