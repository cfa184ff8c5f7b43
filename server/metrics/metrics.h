// Prometheus metrics of the server and the optional HTTP exposer (/metrics).
#ifndef FASTREL_SERVER_METRICS_METRICS_H_
#define FASTREL_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace fastrel::server {

// Metric names (all prefixed fastrel_):
//   requests_total{model,code}                     counter
//   request_latency_seconds{model}                 histogram, receipt to reply
//   queue_latency_seconds{model}                   histogram, per request
//                                                   (longest item wait)
//   batch_compute_seconds{model,variant}           histogram, per batch
//   batch_pairs{model}, batch_tokens{model}        histograms, per batch
//   batches_total{model,variant}                   counter (variant used)
//   shed_pairs_total{model,reason}                 counter (reason =
//                                                   deadline_exceeded,
//                                                   resource_exhausted,
//                                                   queue_full)
//   queue_depth{model}                             gauge, pairs waiting
// Thread safety: thread-safe.
class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();

  // Serves /metrics over HTTP on `address` ("host:port"). Fails
  // (UNAVAILABLE) when the address cannot be bound. Call at most once.
  absl::Status StartExposer(const std::string& address);

  // The registry holding every metric (for tests and extra collectors).
  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

  // One finished request: `code` is the gRPC code name ("OK",
  // "INVALID_ARGUMENT", ...); `model` may be empty for requests rejected
  // before a model was resolved.
  void RecordRequest(std::string_view model, std::string_view code,
                     absl::Duration total);
  void RecordQueueWait(std::string_view model, absl::Duration wait);
  void RecordBatch(std::string_view model, std::string_view variant, int pairs,
                   int tokens, absl::Duration compute);
  void RecordShed(std::string_view model, std::string_view reason, int pairs);
  void SetQueueDepth(std::string_view model, int pairs);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_latency_;
  prometheus::Family<prometheus::Histogram>* queue_latency_;
  prometheus::Family<prometheus::Histogram>* compute_latency_;
  prometheus::Family<prometheus::Histogram>* batch_pairs_;
  prometheus::Family<prometheus::Histogram>* batch_tokens_;
  prometheus::Family<prometheus::Counter>* batches_;
  prometheus::Family<prometheus::Counter>* shed_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_METRICS_METRICS_H_
