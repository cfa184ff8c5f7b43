// The fastrel.v1.Scorer gRPC service (callback API). The handler is thin: it
// validates, resolves the model and variant, converts the deadline, tokenizes
// and hands the pairs to the batcher. The reply is sent from whichever worker
// scores the request's last pair, so no handler thread waits on the engine.
#ifndef FASTREL_SERVER_RPC_SCORER_SERVICE_H_
#define FASTREL_SERVER_RPC_SCORER_SERVICE_H_

#include <atomic>

#include "absl/time/time.h"
#include "fastrel/v1/config.pb.h"
#include "fastrel/v1/scorer.grpc.pb.h"
#include "server/batching/batcher.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/registry/model_registry.h"

namespace fastrel::server {

struct ScorerServiceOptions {
  // Request size limits (defaults applied).
  fastrel::v1::LimitsConfig limits;
  // Budget of requests with neither budget_ms nor a gRPC deadline.
  absl::Duration default_budget = absl::Milliseconds(50);
};

// Score is registered as a raw (ByteBuffer) callback method: the request is
// parsed as wire::ScoreRequestWire (bytes instead of string, see
// score_request_wire.proto) so invalid UTF-8 gets a clear INVALID_ARGUMENT
// instead of a parse failure inside gRPC.
// Thread safety: thread-safe (gRPC calls Score from many threads).
class ScorerService final
    : public fastrel::v1::Scorer::WithRawCallbackMethod_Score<
          fastrel::v1::Scorer::Service> {
 public:
  // Every pointer must outlive the service; `metrics` may be null.
  ScorerService(const ScorerServiceOptions& options,
                const ModelRegistry* registry, Batcher* batcher, Clock* clock,
                ServerMetrics* metrics);

  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;

  // From now on new requests get UNAVAILABLE (in-flight ones finish).
  void StartDraining() { draining_.store(true, std::memory_order_release); }

 private:
  const ScorerServiceOptions options_;
  const ModelRegistry* const registry_;
  Batcher* const batcher_;
  Clock* const clock_;
  ServerMetrics* const metrics_;

  std::atomic<bool> draining_{false};
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_RPC_SCORER_SERVICE_H_
