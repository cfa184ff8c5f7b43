#include "server/batching/pending_request.h"

#include <algorithm>

namespace fastrel::server {

PendingRequest::PendingRequest(int num_items, absl::Time deadline,
                               DoneCallback done)
    : num_items_(num_items),
      deadline_(deadline),
      done_(std::move(done)),
      remaining_(num_items) {
  result_.scores.assign(num_items, 0.0f);
}

PendingRequest::~PendingRequest() {
  // Every accepted request must end: dropping one silently would leave its
  // client waiting until its deadline.
  if (!finished()) {
    Fail(absl::InternalError("request dropped without a result"));
  }
}

void PendingRequest::Complete(std::span<const std::pair<int, float>> scores,
                              int variant, absl::Duration queue,
                              absl::Duration compute) {
  DoneCallback done;
  RequestResult result;
  {
    absl::MutexLock lock(&mu_);
    if (done_ == nullptr) return;
    for (const auto& [index, score] : scores) {
      result_.scores[index] = score;
    }
    result_.variant = std::max(result_.variant, variant);
    result_.queue = std::max(result_.queue, queue);
    result_.compute += compute;
    remaining_ -= static_cast<int>(scores.size());
    if (remaining_ > 0) return;
    done = std::move(done_);
    done_ = nullptr;
    result = std::move(result_);
    finished_.store(true, std::memory_order_release);
  }
  std::move(done)(std::move(result));
}

bool PendingRequest::Fail(absl::Status status) {
  if (status.ok()) status = absl::InternalError("request failed with OK");
  DoneCallback done;
  RequestResult result;
  {
    absl::MutexLock lock(&mu_);
    if (done_ == nullptr) return false;
    done = std::move(done_);
    done_ = nullptr;
    result = std::move(result_);
    result.scores.clear();
    result.status = std::move(status);
    finished_.store(true, std::memory_order_release);
  }
  std::move(done)(std::move(result));
  return true;
}

}  // namespace fastrel::server
