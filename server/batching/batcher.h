// The batcher: one BatchQueue per servable behind one lock. Request handlers
// enqueue work items; worker threads pull ready batches. The batcher owns no
// threads (the WorkerPool does).
#ifndef FASTREL_SERVER_BATCHING_BATCHER_H_
#define FASTREL_SERVER_BATCHING_BATCHER_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/batching/batch_queue.h"
#include "server/batching/work_item.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/registry/servable.h"

namespace fastrel::server {

// What a worker gets from NextBatch.
struct Batch {
  // The servable every item belongs to (null when only `expired` is set).
  std::shared_ptr<const Servable> servable;
  // Items to run, EDF order, same pinned variant (may be empty).
  std::vector<WorkItem> items;
  // Items whose deadline passed while queued; the worker fails them.
  std::vector<WorkItem> expired;
  // When the batch left the queue.
  absl::Time formed;
};

// Thread safety: thread-safe.
class Batcher {
 public:
  // `clock` and `metrics` (nullable) must outlive the batcher.
  Batcher(const BatchQueueOptions& options, Clock* clock,
          ServerMetrics* metrics);
  ~Batcher();

  // Queues `items` (all of `servable`) all-or-nothing. RESOURCE_EXHAUSTED when
  // the servable's queue is full, UNAVAILABLE after Shutdown(). On success
  // `items` is left empty.
  absl::Status Enqueue(const std::shared_ptr<const Servable>& servable,
                       std::vector<WorkItem>& items);

  // Blocks until a batch is ready (or items expired) and moves it into `out`.
  // Returns false once Shutdown() was called and every queue is empty. After
  // Shutdown() partial batches are released without waiting for the delay.
  bool NextBatch(Batch* out);

  // Non-blocking NextBatch: returns false when nothing is ready at the
  // clock's current time.
  bool TryNextBatch(Batch* out);

  // Stops accepting items and wakes the workers so they drain the queues.
  void Shutdown();

  // Items waiting over all queues.
  int queued_items() const;

 private:
  struct Queue {
    std::shared_ptr<const Servable> servable;
    BatchQueue queue;
  };

  // Pops from the ready queue with the earliest deadline; false if none.
  bool PopReadyLocked(absl::Time now, Batch* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextReadyTimeLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ReportDepthLocked(const Queue& q) ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const BatchQueueOptions options_;
  Clock* const clock_;
  ServerMetrics* const metrics_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // Keyed by servable identity; a queue is removed once empty.
  absl::flat_hash_map<const Servable*, std::unique_ptr<Queue>> queues_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_BATCHING_BATCHER_H_
