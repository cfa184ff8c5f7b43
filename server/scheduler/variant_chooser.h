// Per-batch variant choice. The seam where the cost-model-based choice plugs
// in: a chooser sees the batch's earliest deadline and each variant's
// predicted cost and returns the variant to run.
#ifndef FASTREL_SERVER_SCHEDULER_VARIANT_CHOOSER_H_
#define FASTREL_SERVER_SCHEDULER_VARIANT_CHOOSER_H_

#include <vector>

#include "absl/time/time.h"

namespace fastrel::server {

struct VariantChoiceInput {
  // When the batch is about to run.
  absl::Time now;
  // The earliest deadline of the batch's items.
  absl::Time earliest_deadline;
  // Variant pinned by the batch's requests, or -1.
  int pinned_variant = -1;
  // Predicted run time of the whole batch per variant, most accurate variant
  // first (size = number of variants, >= 1). Zero = unknown.
  std::vector<absl::Duration> predicted_cost;
};

// Thread safety: implementations are immutable and thread-safe.
class VariantChooser {
 public:
  virtual ~VariantChooser() = default;
  // Returns a variant index in [0, predicted_cost.size()).
  virtual int Choose(const VariantChoiceInput& input) const = 0;
};

// The pinned variant if any, else the most accurate one (index 0). Ignores
// costs: the choice of this foundation release.
class MostAccurateChooser : public VariantChooser {
 public:
  int Choose(const VariantChoiceInput& input) const override;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_SCHEDULER_VARIANT_CHOOSER_H_
