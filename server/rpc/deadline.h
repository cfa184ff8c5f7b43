// Deadline conversion for Score requests.
#ifndef FASTREL_SERVER_RPC_DEADLINE_H_
#define FASTREL_SERVER_RPC_DEADLINE_H_

#include "absl/time/time.h"

namespace fastrel::server {

// The request's deadline: the earlier of the gRPC deadline (`grpc_deadline`,
// absl::InfiniteFuture() when the client set none) and receipt + budget_ms
// (when budget_ms > 0); when neither is set, receipt + `default_budget`.
// budget_ms must be >= 0 and not NaN (validated before).
absl::Time RequestDeadline(absl::Time receipt, absl::Time grpc_deadline,
                           double budget_ms, absl::Duration default_budget);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_RPC_DEADLINE_H_
