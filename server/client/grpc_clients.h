// Client helpers for the standard gRPC services fastrel-server exposes:
// grpc.health.v1.Health/Check and grpc.reflection.v1alpha list_services.
// Used by fastrel-cli and the end-to-end tests.
#ifndef FASTREL_SERVER_CLIENT_GRPC_CLIENTS_H_
#define FASTREL_SERVER_CLIENT_GRPC_CLIENTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace fastrel::server {

// Calls grpc.health.v1.Health/Check for `service` ("" = the whole server)
// and returns the status name: "SERVING", "NOT_SERVING", "UNKNOWN" or
// "SERVICE_UNKNOWN". Errors: the RPC's status (e.g. UNAVAILABLE when nothing
// listens, NOT_FOUND for an unknown service).
// Thread safety: any thread; blocks up to `timeout`.
absl::StatusOr<std::string> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
    absl::Duration timeout);

// Lists the services the server announces through reflection, in its order.
// Thread safety: any thread; blocks up to `timeout`.
absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_CLIENT_GRPC_CLIENTS_H_
