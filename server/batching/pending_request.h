// The server-side state of one accepted Score request while its (query,
// document) pairs are queued and scored. It collects scores from any number of
// workers and ends the request exactly once: with all scores, or with the
// first error.
#ifndef FASTREL_SERVER_BATCHING_PENDING_REQUEST_H_
#define FASTREL_SERVER_BATCHING_PENDING_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fastrel::server {

// What a finished request produced. Valid fields when status is OK: scores
// (one per item, in item order), variant (the least accurate variant index
// used, i.e. the largest), queue (longest wait of any item), compute (summed
// over the batches that held the request's items).
struct RequestResult {
  absl::Status status;
  std::vector<float> scores;
  int variant = -1;
  absl::Duration queue;
  absl::Duration compute;
};

// Thread safety: thread-safe. Completion runs the callback exactly once, on
// the thread that delivered the last score or the first failure, outside any
// lock of this class.
class PendingRequest {
 public:
  using DoneCallback = absl::AnyInvocable<void(RequestResult result) &&>;

  // `num_items` > 0 scores are expected. `done` is called exactly once.
  PendingRequest(int num_items, absl::Time deadline, DoneCallback done);
  ~PendingRequest();

  PendingRequest(const PendingRequest&) = delete;
  PendingRequest& operator=(const PendingRequest&) = delete;

  absl::Time deadline() const { return deadline_; }
  int num_items() const { return num_items_; }

  // Records scores for some of the items, scored in one batch with `variant`;
  // `queue` is the longest time any of them waited and `compute` the batch's
  // compute time (counted once per call). When these are the last missing
  // scores, the request completes with OK. Ignored after completion. Each item
  // index must be reported at most once.
  void Complete(std::span<const std::pair<int, float>> scores, int variant,
                absl::Duration queue, absl::Duration compute);

  // Ends the request with `status` (not OK) unless it already ended.
  // Returns true when this call ended it.
  bool Fail(absl::Status status);

  // True once the request ended (scores delivered or failed). Items of a
  // finished request can be dropped without running them.
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  const int num_items_;
  const absl::Time deadline_;

  std::atomic<bool> finished_{false};
  absl::Mutex mu_;
  DoneCallback done_ ABSL_GUARDED_BY(mu_);  // null once called
  RequestResult result_ ABSL_GUARDED_BY(mu_);
  int remaining_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_BATCHING_PENDING_REQUEST_H_
