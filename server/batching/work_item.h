// One unit of batchable work: a tokenized (query, document) pair of a request.
#ifndef FASTREL_SERVER_BATCHING_WORK_ITEM_H_
#define FASTREL_SERVER_BATCHING_WORK_ITEM_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/batching/pending_request.h"

namespace fastrel::server {

// A plain value (movable). The request outlives the item through the shared
// pointer.
struct WorkItem {
  std::shared_ptr<PendingRequest> request;
  // Index of the document within the request.
  int index = 0;
  // [CLS] q [SEP] d [SEP] ids and token types (non-empty).
  EncodedPair pair;
  // Variant pinned by the request, or -1 for "the scheduler chooses". Only
  // items with the same pin share a batch.
  int pinned_variant = -1;
  // When the request must be answered.
  absl::Time deadline;
  // When the item entered the queue (set by the queue).
  absl::Time enqueue_time;
  // Arrival order (set by the queue); breaks deadline ties first-in first-out.
  uint64_t sequence = 0;

  int num_tokens() const { return static_cast<int>(pair.input_ids.size()); }
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_BATCHING_WORK_ITEM_H_
