#include "server/server.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/config/server_config.h"
#include "server/registry/engine_servable.h"

namespace fastrel::server {
namespace {

CalibrationOptions CalibrationOptionsFromConfig(
    const fastrel::v1::CostModelConfig& c) {
  CalibrationOptions o;
  o.budget_ms = c.budget_ms();
  o.min_shapes_per_variant = c.min_shapes_per_variant();
  o.max_shapes_per_variant =
      std::max(o.max_shapes_per_variant, o.min_shapes_per_variant);
  o.max_batch_tokens = c.max_batch_tokens();
  o.max_sequences = c.max_sequences();
  o.reps_per_shape = c.reps_per_shape();
  o.warmup_batches = 1;
  o.seed = c.seed();
  return o;
}

// Logs a loaded servable's cost model and exports its calibration errors.
void ReportCostModel(const Servable& servable, ServerMetrics* metrics) {
  const CostModelInfo* cost = servable.cost_model();
  if (cost == nullptr) return;
  std::fprintf(stderr,
               "fastrel-server: model '%s': cost model calibrated in %.2f s "
               "(%s clock)\n%s",
               servable.name().c_str(), cost->calibration_seconds,
               cost->clock.c_str(), cost->report.c_str());
  metrics->SetCostModelCalibration(servable.name(), cost->calibration_seconds);
  for (const VariantInfo& v : servable.variants()) {
    metrics->SetCostModelError(servable.name(), v.name, v.cost_median_rel_error,
                               v.cost_p90_rel_error);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<FastrelServer>> FastrelServer::Start(
    const fastrel::v1::ServerConfig& config, Clock* clock) {
  if (absl::Status s = ValidateServerConfig(config); !s.ok()) return s;
  std::unique_ptr<FastrelServer> server(new FastrelServer());
  server->config_ = config;
  server->clock_ = clock;
  const fastrel::v1::ServerConfig& c = server->config_;

  server->metrics_ = std::make_unique<ServerMetrics>();
  if (c.metrics_port() != 0) {
    absl::Status s = server->metrics_->StartExposer(
        absl::StrCat(c.listen_address(), ":", c.metrics_port()));
    if (!s.ok()) return s;
  }

  // Models: loaded (and checked) before anything takes traffic.
  server->registry_ = std::make_unique<ModelRegistry>();
  EngineServableOptions servable_options;
  servable_options.max_seq_len = c.tokenizer().max_seq_len();
  servable_options.max_query_tokens = c.tokenizer().max_query_tokens();
  servable_options.calibrate = !c.cost_model().disable();
  servable_options.calibration = CalibrationOptionsFromConfig(c.cost_model());
  for (const auto& m : c.models()) {
    absl::StatusOr<std::shared_ptr<const Servable>> servable =
        LoadEngineServable(m.name(), m.path(), servable_options);
    if (!servable.ok()) return servable.status();
    ReportCostModel(**servable, server->metrics_.get());
    if (absl::Status s = server->registry_->Add(*std::move(servable));
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = server->registry_->SetDefault(c.default_model());
      !s.ok()) {
    return s;
  }

  BatchQueueOptions queue_options;
  queue_options.max_batch_tokens = c.batching().max_batch_tokens();
  queue_options.max_queue_delay =
      absl::Microseconds(c.batching().max_queue_delay_micros());
  queue_options.max_queued_items = c.batching().max_queued_items();
  server->batcher_ =
      std::make_unique<Batcher>(queue_options, clock, server->metrics_.get());

  SchedulerOptions scheduler_options;
  scheduler_options.shedding = !c.scheduler().disable_shedding();
  scheduler_options.cost_aware.relative_margin =
      c.scheduler().cost_margin_fraction();
  scheduler_options.cost_aware.absolute_margin =
      absl::Microseconds(c.scheduler().cost_margin_micros());
  server->scheduler_ =
      std::make_unique<Scheduler>(scheduler_options, /*chooser=*/nullptr);

  WorkerPoolOptions worker_options;
  worker_options.num_workers = c.workers().num_workers();
  worker_options.pin_to_cores = !c.workers().disable_pinning();
  server->workers_ = std::make_unique<WorkerPool>(
      worker_options, server->batcher_.get(), server->scheduler_.get(), clock,
      server->metrics_.get());
  server->workers_->Start();

  ScorerServiceOptions service_options;
  service_options.limits = c.limits();
  service_options.default_budget =
      absl::Milliseconds(c.scheduler().default_budget_ms());
  server->service_ = std::make_unique<ScorerService>(
      service_options, server->registry_.get(), server->batcher_.get(), clock,
      server->metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(c.listen_address(), ":", c.port()),
                           grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(c.limits().max_message_bytes());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->workers_->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", c.listen_address(), ":", c.port(),
                     " (address in use or not available)"));
  }
  grpc::HealthCheckServiceInterface* health =
      server->grpc_server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kScorerServiceName, true);
  return server;
}

FastrelServer::~FastrelServer() {
  Shutdown(absl::Seconds(config_.shutdown_grace_seconds()));
}

std::string FastrelServer::target() const {
  return absl::StrCat(config_.listen_address(), ":", port_);
}

void FastrelServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_server_ != nullptr) {
    grpc::HealthCheckServiceInterface* health =
        grpc_server_->GetHealthCheckService();
    health->SetServingStatus("", false);
    health->SetServingStatus(kScorerServiceName, false);
  }
  if (service_ != nullptr) service_->StartDraining();
  if (grpc_server_ != nullptr) {
    // Stops accepting calls, waits for in-flight ones (the workers keep
    // running and finish them) until the grace deadline, then cancels them.
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    grpc_server_->Wait();
  }
  if (workers_ != nullptr) workers_->Stop();
}

}  // namespace fastrel::server
