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
      chooser_(std::move(chooser)),
      cost_aware_(options.cost_aware) {}

BatchPlan Scheduler::Plan(std::vector<WorkItem> items, absl::Time now,
                          const Servable& servable) const {
  BatchPlan plan;
  const int num_variants = static_cast<int>(servable.variants().size());
  const VariantChooser& chooser =
      chooser_ != nullptr ? *chooser_
      : servable.cost_model() != nullptr
          ? static_cast<const VariantChooser&>(cost_aware_)
          : static_cast<const VariantChooser&>(most_accurate_);
  const int pinned = items.empty() ? -1 : items.front().pinned_variant;

  std::vector<WorkItem> live;
  live.reserve(items.size());
  for (WorkItem& item : items) {
    if (item.deadline <= now) {
      absl::Status status = DeadlinePassedStatus(now - item.enqueue_time);
      plan.shed.emplace_back(std::move(item), std::move(status));
    } else {
      live.push_back(std::move(item));
    }
  }

  // Each round sheds at least one item or ends: the batch only shrinks, so
  // costs only fall and deadlines only grow later.
  std::vector<int> lengths;
  VariantChoiceInput input;
  while (true) {
    lengths.clear();
    absl::Time earliest = absl::InfiniteFuture();
    for (const WorkItem& item : live) {
      lengths.push_back(item.num_tokens());
      earliest = std::min(earliest, item.deadline);
    }
    input.now = now;
    input.earliest_deadline = earliest;
    input.pinned_variant = pinned;
    input.predicted_cost.clear();
    for (int v = 0; v < num_variants; ++v) {
      input.predicted_cost.push_back(live.empty()
                                         ? absl::ZeroDuration()
                                         : servable.PredictCost(v, lengths));
    }
    plan.variant = std::clamp(chooser.Choose(input), 0, num_variants - 1);
    if (pinned >= 0 && pinned < num_variants) {
      plan.variant = pinned;  // A pin is never overridden.
    }
    plan.predicted_cost = input.predicted_cost[plan.variant];
    if (!options_.shedding || live.empty()) break;
    const absl::Time finish = now + plan.predicted_cost;
    std::vector<WorkItem> kept;
    kept.reserve(live.size());
    for (WorkItem& item : live) {
      if (item.deadline < finish) {
        absl::Status status = absl::ResourceExhaustedError(absl::StrFormat(
            "shed: variant '%s' is predicted to finish %.3f ms after the "
            "deadline under the current load",
            servable.variants()[plan.variant].name,
            absl::ToDoubleMilliseconds(finish - item.deadline)));
        plan.shed.emplace_back(std::move(item), std::move(status));
      } else {
        kept.push_back(std::move(item));
      }
    }
    const bool shed_some = kept.size() < live.size();
    live = std::move(kept);
    if (!shed_some) break;
  }
  plan.run = std::move(live);
  return plan;
}

}  // namespace fastrel::server
