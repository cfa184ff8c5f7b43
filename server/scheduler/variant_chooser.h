// Per-batch variant choice: a chooser sees the batch's earliest deadline and
// each variant's predicted cost and returns the variant to run.
//
//   MostAccurateChooser  ignores costs: the pinned variant, else variant 0.
//                        Used for models without a cost model.
//   CostAwareChooser     the most accurate variant predicted to finish before
//                        the earliest deadline (with a safety margin), else
//                        the cheapest one. The default for models with a
//                        calibrated cost model (DESIGN.md, request flow 4).
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
  // first (size = number of variants, >= 1). Zero = unknown; infinite = the
  // variant cannot be predicted (never chosen unless all are).
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
// costs.
class MostAccurateChooser : public VariantChooser {
 public:
  int Choose(const VariantChoiceInput& input) const override;
};

struct CostAwareChooserOptions {
  // Safety margin on the prediction: variant v fits when
  //   now + predicted[v] * (1 + relative_margin) + absolute_margin
  //       <= earliest_deadline.
  // The relative part covers the cost model's error (held-out p90 about 4%
  // on thread CPU time for the demo model, bench/results/costmodel-*.md) and
  // wall-vs-CPU drift on a busy core (cache, frequency, interrupts); the
  // absolute part covers what happens after the batch (delivering scores,
  // serializing and sending the reply). Both >= 0.
  double relative_margin = 0.2;
  absl::Duration absolute_margin = absl::Microseconds(500);
};

// The pinned variant if any; else the most accurate (lowest index) variant
// that fits before the earliest deadline (see CostAwareChooserOptions);
// else the cheapest predicted variant (lowest index among equals): a cheaper
// variant served late or just in time beats shedding on a guess. A zero
// (unknown) predicted cost counts as fitting; infinite costs never fit and
// are the cheapest only when every cost is infinite (then variant 0).
class CostAwareChooser : public VariantChooser {
 public:
  explicit CostAwareChooser(const CostAwareChooserOptions& options = {});
  int Choose(const VariantChoiceInput& input) const override;

  // True when a batch predicted to take `predicted` fits before `deadline`
  // when started at `now`, margins included.
  bool Fits(absl::Time now, absl::Duration predicted,
            absl::Time deadline) const;

 private:
  const CostAwareChooserOptions options_;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_SCHEDULER_VARIANT_CHOOSER_H_
