#include "server/scheduler/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fastrel::server {

absl::Status DeadlinePassedStatus(absl::Duration waited) {
  return absl::DeadlineExceededError(absl::StrFormat(
      "deadline passed before the pair could run (waited %.3f ms in queue)",
      absl::ToDoubleMilliseconds(waited)));
}

Scheduler::Scheduler(const SchedulerOptions& options,
                     std::unique_ptr<VariantChooser> chooser)
    : options_(options),
      chooser_(chooser != nullptr ? std::move(chooser)
                                  : std::make_unique<MostAccurateChooser>()) {}

BatchPlan Scheduler::Plan(std::vector<WorkItem> items, absl::Time now,
                          const Servable& servable) const {
  BatchPlan plan;
  const int num_variants = static_cast<int>(servable.variants().size());
  int tokens = 0;
  absl::Time earliest = absl::InfiniteFuture();
  for (const WorkItem& item : items) {
    tokens += item.num_tokens();
    earliest = std::min(earliest, item.deadline);
  }
  VariantChoiceInput input;
  input.now = now;
  input.earliest_deadline = earliest;
  input.pinned_variant = items.empty() ? -1 : items.front().pinned_variant;
  input.predicted_cost.reserve(num_variants);
  for (int v = 0; v < num_variants; ++v) {
    input.predicted_cost.push_back(
        servable.PredictCost(v, tokens, static_cast<int>(items.size())));
  }
  plan.variant = std::clamp(chooser_->Choose(input), 0, num_variants - 1);
  if (input.pinned_variant >= 0 && input.pinned_variant < num_variants) {
    plan.variant = input.pinned_variant;  // A pin is never overridden.
  }
  const absl::Time finish = now + input.predicted_cost[plan.variant];
  for (WorkItem& item : items) {
    if (item.deadline <= now) {
      absl::Status status = DeadlinePassedStatus(now - item.enqueue_time);
      plan.shed.emplace_back(std::move(item), std::move(status));
    } else if (options_.shedding && item.deadline < finish) {
      absl::Status status = absl::ResourceExhaustedError(absl::StrFormat(
          "shed: variant '%s' is predicted to finish %.3f ms after the "
          "deadline under the current load",
          servable.variants()[plan.variant].name,
          absl::ToDoubleMilliseconds(finish - item.deadline)));
      plan.shed.emplace_back(std::move(item), std::move(status));
    } else {
      plan.run.push_back(std::move(item));
    }
  }
  return plan;
}

}  // namespace fastrel::server
