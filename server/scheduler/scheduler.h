// Per-batch scheduling decisions: which variant runs the batch and which
// items are shed instead of run (deadline passed, or cannot be met).
#ifndef FASTREL_SERVER_SCHEDULER_SCHEDULER_H_
#define FASTREL_SERVER_SCHEDULER_SCHEDULER_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/batching/work_item.h"
#include "server/registry/servable.h"
#include "server/scheduler/variant_chooser.h"

namespace fastrel::server {

struct SchedulerOptions {
  // Shed (RESOURCE_EXHAUSTED) items whose deadline falls before the batch's
  // predicted finish instead of running them late.
  bool shedding = true;
  // Margins of the CostAwareChooser used for servables with a cost model
  // (when the Scheduler is built without an explicit chooser).
  CostAwareChooserOptions cost_aware;
};

// The plan for one batch.
struct BatchPlan {
  // Variant to run (index into the servable's variants()).
  int variant = 0;
  // Its predicted run time for `run` (zero = unknown: no cost model).
  absl::Duration predicted_cost;
  // Items to run, in batch order.
  std::vector<WorkItem> run;
  // Items not to run, each with its status (DEADLINE_EXCEEDED when the
  // deadline already passed, RESOURCE_EXHAUSTED when it cannot be met).
  std::vector<std::pair<WorkItem, absl::Status>> shed;
};

// Thread safety: immutable after construction; Plan may run concurrently.
class Scheduler {
 public:
  // `chooser` null = automatic: a CostAwareChooser (options.cost_aware) for
  // servables with a cost model, MostAccurateChooser for the others.
  // A non-null chooser is used for every servable.
  Scheduler(const SchedulerOptions& options,
            std::unique_ptr<VariantChooser> chooser);

  // Plans `items` (non-empty, all of `servable`, all with the same pinned
  // variant) at time `now`. Items whose deadline is <= now are shed with
  // DEADLINE_EXCEEDED. The chooser picks the variant from the predicted cost
  // of the remaining items (a pin is never overridden). With shedding on,
  // items whose deadline is before now + the chosen variant's predicted cost
  // are shed with RESOURCE_EXHAUSTED, and the variant is chosen again for the
  // items left (a smaller batch with later deadlines may afford a more
  // accurate variant).
  BatchPlan Plan(std::vector<WorkItem> items, absl::Time now,
                 const Servable& servable) const;

 private:
  const SchedulerOptions options_;
  const std::unique_ptr<VariantChooser> chooser_;  // null = automatic
  const MostAccurateChooser most_accurate_;
  const CostAwareChooser cost_aware_;
};

// The status for an item whose deadline passed before it ran, having waited
// `waited` in the queue.
absl::Status DeadlinePassedStatus(absl::Duration waited);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_SCHEDULER_SCHEDULER_H_
