#include "server/client/grpc_clients.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/client/grpc_wire.pb.h"

namespace fastrel::server {
namespace {

using fastrel::grpcwire::HealthCheckRequest;
using fastrel::grpcwire::HealthCheckResponse;
using fastrel::grpcwire::ServerReflectionRequest;
using fastrel::grpcwire::ServerReflectionResponse;

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

// Waits for the next event of `cq`; false when the operation failed.
bool Await(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  return cq.Next(&tag, &ok) && ok;
}

}  // namespace

absl::StatusOr<std::string> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
    absl::Duration timeout) {
  grpc::TemplatedGenericStub<HealthCheckRequest, HealthCheckResponse> stub(
      channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (absl::Status s = FromGrpc(status, "health check"); !s.ok()) return s;
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout) {
  grpc::TemplatedGenericStub<ServerReflectionRequest, ServerReflectionResponse>
      stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  std::vector<std::string> names;
  ServerReflectionRequest request;
  request.set_list_services("*");
  ServerReflectionResponse response;
  bool ok = false;
  call->StartCall(nullptr);
  if (Await(cq)) {
    call->Write(request, nullptr);
    if (Await(cq)) {
      call->Read(&response, nullptr);
      ok = Await(cq);
    }
  }
  call->WritesDone(nullptr);
  Await(cq);
  grpc::Status status;
  call->Finish(&status, nullptr);
  Await(cq);
  cq.Shutdown();
  void* tag;
  bool unused;
  while (cq.Next(&tag, &unused)) {
  }
  if (absl::Status s = FromGrpc(status, "reflection"); !s.ok()) return s;
  if (!ok) return absl::UnavailableError("reflection: no response");
  if (response.has_error_response()) {
    return absl::UnknownError(absl::StrCat(
        "reflection: ", response.error_response().error_message()));
  }
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  return names;
}

}  // namespace fastrel::server
