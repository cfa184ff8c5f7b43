// The queue of one model: holds work items and decides when and which items
// form the next batch. Queues hold invariants only; the Batcher (batcher.h)
// owns the locking and the worker threads pull from it.
#ifndef FASTREL_SERVER_BATCHING_BATCH_QUEUE_H_
#define FASTREL_SERVER_BATCHING_BATCH_QUEUE_H_

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/batching/work_item.h"

namespace fastrel::server {

struct BatchQueueOptions {
  // Largest batch in tokens (sum of sequence lengths). A single item longer
  // than this still forms a batch on its own.
  int max_batch_tokens = 4096;
  // Longest the oldest item waits for a batch to fill before a partial batch
  // is released.
  absl::Duration max_queue_delay = absl::Microseconds(2000);
  // Most items waiting; Enqueue beyond this fails with RESOURCE_EXHAUSTED.
  int max_queued_items = 100000;
};

// Items leave in earliest-deadline-first order (ties: arrival order). A batch
// holds items with the same pinned variant only, up to max_batch_tokens.
// Thread safety: not thread-safe (the owner locks).
class BatchQueue {
 public:
  explicit BatchQueue(const BatchQueueOptions& options);

  // Adds all `items` or none: RESOURCE_EXHAUSTED when they would take the
  // queue past max_queued_items. Sets each item's enqueue_time to `now` and
  // its sequence number. On success `items` is left empty.
  absl::Status Enqueue(std::vector<WorkItem>& items, absl::Time now);

  // True when a batch should be released at `now`: the queue holds at least
  // max_batch_tokens tokens, the oldest item waited max_queue_delay, or the
  // earliest deadline is less than max_queue_delay away (that item cannot
  // afford to wait for a fuller batch).
  bool Ready(absl::Time now) const;

  // The earliest time Ready() becomes true without new items
  // (absl::InfiniteFuture() when empty).
  absl::Time NextReadyTime() const;

  // Removes and returns, in EDF order, the items whose deadline is <= now
  // (into `expired`) and those whose request already finished (dropped), then
  // the next batch (into `batch`): starting from the earliest deadline, items
  // with the same pinned variant as that first one, while the token sum stays
  // within max_batch_tokens. `batch` may be empty only when the queue is.
  void PopBatch(absl::Time now, std::vector<WorkItem>* batch,
                std::vector<WorkItem>* expired);

  // Removes and returns every item (shutdown).
  std::vector<WorkItem> TakeAll();

  // Deadline of the most urgent item (absl::InfiniteFuture() when empty).
  absl::Time earliest_deadline() const {
    return items_.empty() ? absl::InfiniteFuture()
                          : items_.begin()->first.first;
  }
  bool empty() const { return items_.empty(); }
  int size() const { return static_cast<int>(items_.size()); }
  int64_t queued_tokens() const { return queued_tokens_; }
  const BatchQueueOptions& options() const { return options_; }

 private:
  using Key = std::pair<absl::Time, uint64_t>;  // (deadline, sequence)

  WorkItem Remove(std::map<Key, WorkItem>::iterator it);

  const BatchQueueOptions options_;
  // EDF order.
  std::map<Key, WorkItem> items_;
  // (enqueue_time, sequence) of every queued item: the oldest is first.
  std::set<std::pair<absl::Time, uint64_t>> arrivals_;
  int64_t queued_tokens_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_BATCHING_BATCH_QUEUE_H_
