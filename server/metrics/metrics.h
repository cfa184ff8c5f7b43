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
// Cost model (models with a calibrated cost model only):
//   cost_prediction_relative_error{model,variant,clock}
//                                                  histogram, per batch:
//                                                  |measured - predicted| /
//                                                  predicted for the variant
//                                                  that ran; clock = wall
//                                                  (the worker's clock around
//                                                  the run: what deadlines
//                                                  see) or thread_cpu (the
//                                                  worker thread's CPU time:
//                                                  what calibration fits)
//   cost_predicted_seconds_total{model,variant}    counter, predicted batch
//                                                  time summed
//   cost_measured_seconds_total{model,variant,clock}
//                                                  counter, measured batch
//                                                  time summed (measured /
//                                                  predicted rate = the bias)
//   cost_model_holdout_p90_relative_error{model,variant}
//   cost_model_holdout_median_relative_error{model,variant}
//                                                  gauges, calibration's
//                                                  error on held-out shapes
//                                                  (|pred - meas| / meas)
//   cost_model_calibration_seconds{model}          gauge, calibration time
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
  // One batch run with a predicted cost: `predicted` > 0, `wall` and
  // `thread_cpu` as measured around Servable::Run.
  void RecordCostPrediction(std::string_view model, std::string_view variant,
                            absl::Duration predicted, absl::Duration wall,
                            absl::Duration thread_cpu);
  // A model's calibration: its duration and each variant's held-out errors
  // (negative errors are skipped).
  void SetCostModelCalibration(std::string_view model, double seconds);
  void SetCostModelError(std::string_view model, std::string_view variant,
                         double median_rel_error, double p90_rel_error);

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
  prometheus::Family<prometheus::Histogram>* cost_error_;
  prometheus::Family<prometheus::Counter>* cost_predicted_;
  prometheus::Family<prometheus::Counter>* cost_measured_;
  prometheus::Family<prometheus::Gauge>* cost_holdout_p90_;
  prometheus::Family<prometheus::Gauge>* cost_holdout_median_;
  prometheus::Family<prometheus::Gauge>* cost_calibration_seconds_;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_METRICS_METRICS_H_
