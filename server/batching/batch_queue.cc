#include "server/batching/batch_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fastrel::server {

BatchQueue::BatchQueue(const BatchQueueOptions& options) : options_(options) {}

absl::Status BatchQueue::Enqueue(std::vector<WorkItem>& items, absl::Time now) {
  if (items_.size() + items.size() >
      static_cast<size_t>(std::max(options_.max_queued_items, 0))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "queue full: ", items_.size(), " pairs waiting, ", items.size(),
        " more would exceed batching.max_queued_items=",
        options_.max_queued_items));
  }
  for (WorkItem& item : items) {
    item.enqueue_time = now;
    item.sequence = next_sequence_++;
    queued_tokens_ += item.num_tokens();
    arrivals_.emplace(now, item.sequence);
    Key key(item.deadline, item.sequence);
    items_.emplace(key, std::move(item));
  }
  items.clear();
  return absl::OkStatus();
}

bool BatchQueue::Ready(absl::Time now) const {
  if (items_.empty()) return false;
  if (queued_tokens_ >= options_.max_batch_tokens) return true;
  return NextReadyTime() <= now;
}

absl::Time BatchQueue::NextReadyTime() const {
  if (items_.empty()) return absl::InfiniteFuture();
  if (queued_tokens_ >= options_.max_batch_tokens) return absl::InfinitePast();
  absl::Time oldest = arrivals_.begin()->first;
  // An item that cannot afford to wait the full delay before its deadline is
  // released at once.
  absl::Time earliest_deadline = items_.begin()->first.first;
  return std::min(oldest + options_.max_queue_delay,
                  earliest_deadline - options_.max_queue_delay);
}

WorkItem BatchQueue::Remove(std::map<Key, WorkItem>::iterator it) {
  WorkItem item = std::move(it->second);
  arrivals_.erase({item.enqueue_time, item.sequence});
  queued_tokens_ -= item.num_tokens();
  items_.erase(it);
  return item;
}

void BatchQueue::PopBatch(absl::Time now, std::vector<WorkItem>* batch,
                          std::vector<WorkItem>* expired) {
  batch->clear();
  // Expired and abandoned items sit anywhere; expired ones are at the EDF
  // head. Abandoned ones (request already failed) are dropped as met.
  while (!items_.empty()) {
    auto head = items_.begin();
    if (head->second.request->finished()) {
      Remove(head);  // Dropped: its request already has its answer.
    } else if (head->first.first <= now) {
      expired->push_back(Remove(head));
    } else {
      break;
    }
  }
  if (items_.empty()) return;
  const int pin = items_.begin()->second.pinned_variant;
  int64_t tokens = 0;
  for (auto it = items_.begin(); it != items_.end();) {
    const WorkItem& item = it->second;
    if (item.request->finished()) {
      it = std::next(it);
      Remove(std::prev(it));
      continue;
    }
    if (item.pinned_variant != pin) {
      ++it;
      continue;
    }
    if (!batch->empty() &&
        tokens + item.num_tokens() > options_.max_batch_tokens) {
      break;
    }
    tokens += item.num_tokens();
    it = std::next(it);
    batch->push_back(Remove(std::prev(it)));
  }
}

std::vector<WorkItem> BatchQueue::TakeAll() {
  std::vector<WorkItem> all;
  all.reserve(items_.size());
  for (auto& [key, item] : items_) all.push_back(std::move(item));
  items_.clear();
  arrivals_.clear();
  queued_tokens_ = 0;
  return all;
}

}  // namespace fastrel::server
