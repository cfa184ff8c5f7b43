#include "server/rpc/status_util.h"

#include <string>

namespace fastrel::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  // absl::StatusCode has exactly gRPC's codes 1..16; anything else is a bug
  // and becomes UNKNOWN rather than an invalid gRPC code.
  grpc::StatusCode grpc_code = code >= 1 && code <= 16
                                   ? static_cast<grpc::StatusCode>(code)
                                   : grpc::StatusCode::UNKNOWN;
  return grpc::Status(grpc_code, std::string(status.message()));
}

}  // namespace fastrel::server
