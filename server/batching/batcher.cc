#include "server/batching/batcher.h"

#include <algorithm>

namespace fastrel::server {

Batcher::Batcher(const BatchQueueOptions& options, Clock* clock,
                 ServerMetrics* metrics)
    : options_(options), clock_(clock), metrics_(metrics) {}

Batcher::~Batcher() = default;

absl::Status Batcher::Enqueue(const std::shared_ptr<const Servable>& servable,
                              std::vector<WorkItem>& items) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    return absl::UnavailableError("server is shutting down");
  }
  std::unique_ptr<Queue>& slot = queues_[servable.get()];
  if (slot == nullptr) {
    slot = std::make_unique<Queue>(Queue{servable, BatchQueue(options_)});
  }
  absl::Status status = slot->queue.Enqueue(items, clock_->Now());
  if (slot->queue.empty()) {
    queues_.erase(servable.get());
  } else {
    ReportDepthLocked(*slot);
  }
  if (status.ok()) cv_.SignalAll();
  return status;
}

void Batcher::ReportDepthLocked(const Queue& q) {
  if (metrics_ != nullptr) {
    metrics_->SetQueueDepth(q.servable->name(), q.queue.size());
  }
}

bool Batcher::PopReadyLocked(absl::Time now, Batch* out) {
  // Among the ready queues, the one holding the earliest deadline.
  Queue* best = nullptr;
  absl::Time best_deadline = absl::InfiniteFuture();
  for (auto& [key, q] : queues_) {
    if (q->queue.empty()) continue;
    // While draining every non-empty queue is ready.
    if (!shutdown_ && !q->queue.Ready(now)) continue;
    absl::Time t = q->queue.earliest_deadline();
    if (best == nullptr || t < best_deadline) {
      best = q.get();
      best_deadline = t;
    }
  }
  if (best == nullptr) return false;
  out->items.clear();
  out->expired.clear();
  best->queue.PopBatch(now, &out->items, &out->expired);
  out->servable = best->servable;
  out->formed = now;
  ReportDepthLocked(*best);
  if (best->queue.empty()) queues_.erase(best->servable.get());
  // Another worker may find the next batch ready.
  if (!queues_.empty()) cv_.Signal();
  return !out->items.empty() || !out->expired.empty();
}

absl::Time Batcher::NextReadyTimeLocked() const {
  absl::Time t = absl::InfiniteFuture();
  for (const auto& [key, q] : queues_) {
    t = std::min(t, q->queue.NextReadyTime());
  }
  return t;
}

bool Batcher::NextBatch(Batch* out) {
  absl::MutexLock lock(&mu_);
  while (true) {
    absl::Time now = clock_->Now();
    if (PopReadyLocked(now, out)) return true;
    if (shutdown_ && queues_.empty()) return false;
    absl::Time next = NextReadyTimeLocked();
    if (next == absl::InfiniteFuture()) {
      cv_.Wait(&mu_);
    } else if (next > now) {
      cv_.WaitWithTimeout(&mu_, next - now);
    }
  }
}

bool Batcher::TryNextBatch(Batch* out) {
  absl::MutexLock lock(&mu_);
  return PopReadyLocked(clock_->Now(), out);
}

void Batcher::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  cv_.SignalAll();
}

int Batcher::queued_items() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [key, q] : queues_) n += q->queue.size();
  return n;
}

}  // namespace fastrel::server
