#include "server/scheduler/variant_chooser.h"

namespace fastrel::server {

int MostAccurateChooser::Choose(const VariantChoiceInput& input) const {
  if (input.pinned_variant >= 0 &&
      input.pinned_variant < static_cast<int>(input.predicted_cost.size())) {
    return input.pinned_variant;
  }
  return 0;
}

}  // namespace fastrel::server
