#include "server/rpc/deadline.h"

#include <algorithm>

namespace fastrel::server {

absl::Time RequestDeadline(absl::Time receipt, absl::Time grpc_deadline,
                           double budget_ms, absl::Duration default_budget) {
  absl::Time deadline = grpc_deadline;
  if (budget_ms > 0) {
    deadline = std::min(deadline, receipt + absl::Milliseconds(budget_ms));
  }
  if (deadline == absl::InfiniteFuture()) deadline = receipt + default_budget;
  return deadline;
}

}  // namespace fastrel::server
