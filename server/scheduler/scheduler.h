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
};

// The plan for one batch.
struct BatchPlan {
  // Variant to run (index into the servable's variants()).
  int variant = 0;
  // Items to run, in batch order.
  std::vector<WorkItem> run;
  // Items not to run, each with its status (DEADLINE_EXCEEDED when the
  // deadline already passed, RESOURCE_EXHAUSTED when it cannot be met).
  std::vector<std::pair<WorkItem, absl::Status>> shed;
};

// Thread safety: immutable after construction; Plan may run concurrently.
class Scheduler {
 public:
  // `chooser` null = MostAccurateChooser.
  Scheduler(const SchedulerOptions& options,
            std::unique_ptr<VariantChooser> chooser);

  // Plans `items` (non-empty, all of `servable`, all with the same pinned
  // variant) at time `now`. Items whose deadline is <= now are shed with
  // DEADLINE_EXCEEDED; with shedding on, items whose deadline is before now +
  // the chosen variant's predicted cost are shed with RESOURCE_EXHAUSTED.
  BatchPlan Plan(std::vector<WorkItem> items, absl::Time now,
                 const Servable& servable) const;

 private:
  const SchedulerOptions options_;
  const std::unique_ptr<VariantChooser> chooser_;
};

// The status for an item whose deadline passed before it ran, having waited
// `waited` in the queue.
absl::Status DeadlinePassedStatus(absl::Duration waited);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_SCHEDULER_SCHEDULER_H_
