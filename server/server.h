// FastrelServer: the whole daemon minus process concerns (flags, signals).
// Loads the configured models, starts the workers, the gRPC server (Scorer,
// health, reflection) and the metrics exposer; drains on Shutdown. Used by
// fastrel-server's main and in-process by the end-to-end tests.
#ifndef FASTREL_SERVER_SERVER_H_
#define FASTREL_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fastrel/v1/config.pb.h"
#include "grpcpp/server.h"
#include "server/batching/batcher.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/registry/model_registry.h"
#include "server/rpc/scorer_service.h"
#include "server/scheduler/scheduler.h"
#include "server/workers/worker_pool.h"

namespace fastrel::server {

// Service names whose health is reported ("" = the whole server).
inline constexpr char kScorerServiceName[] = "fastrel.v1.Scorer";

// Thread safety: Start/Shutdown/Wait from one controlling thread; the
// accessors are thread-safe.
class FastrelServer {
 public:
  // Starts a server for `config` (ApplyDefaults already applied; validated
  // here). Port 0 picks a free port (see port()). Health turns SERVING once
  // every model is loaded (and its cost model calibrated, unless
  // config.cost_model.disable) and the server listens. Errors: invalid config,
  // model load failures (naming the file), port in use.
  static absl::StatusOr<std::unique_ptr<FastrelServer>> Start(
      const fastrel::v1::ServerConfig& config, Clock* clock = RealClock());

  // Calls Shutdown() if it was not called.
  ~FastrelServer();

  // The bound gRPC port.
  int port() const { return port_; }
  // "address:port" clients can dial.
  std::string target() const;
  // The config in use (defaults applied).
  const fastrel::v1::ServerConfig& config() const { return config_; }
  ServerMetrics& metrics() { return *metrics_; }
  // The served models.
  const ModelRegistry& registry() const { return *registry_; }
  int num_workers() const { return workers_->num_workers(); }

  // Drains: health NOT_SERVING, new requests UNAVAILABLE, waits up to `grace`
  // for in-flight requests (then cancels them), stops the workers. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  FastrelServer() = default;

  fastrel::v1::ServerConfig config_;
  Clock* clock_ = nullptr;
  int port_ = 0;
  bool shut_down_ = false;

  // Construction order = dependency order; destroyed in reverse.
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<ScorerService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_SERVER_H_
