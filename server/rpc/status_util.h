// The one conversion from absl::Status (used everywhere inside the server and
// engine) to grpc::Status (at the handler boundary).
#ifndef FASTREL_SERVER_RPC_STATUS_UTIL_H_
#define FASTREL_SERVER_RPC_STATUS_UTIL_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace fastrel::server {

// Same code (absl and gRPC codes share their numbering) and message. OK maps
// to grpc::Status::OK.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_RPC_STATUS_UTIL_H_
