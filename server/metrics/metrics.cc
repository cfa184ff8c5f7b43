#include "server/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fastrel::server {
namespace {

using prometheus::Histogram;

// Latency buckets in seconds: 100 us .. 1 s, dense around typical SLOs.
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries* const b =
      new Histogram::BucketBoundaries{
          0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.0075, 0.01, 0.015,
          0.02,   0.03,    0.05,   0.075, 0.1,   0.25,  0.5,    1.0};
  return *b;
}

const Histogram::BucketBoundaries& PairBuckets() {
  static const Histogram::BucketBoundaries* const b =
      new Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return *b;
}

const Histogram::BucketBoundaries& TokenBuckets() {
  static const Histogram::BucketBoundaries* const b =
      new Histogram::BucketBoundaries{64,   128,  256,  512,  1024,
                                      2048, 4096, 8192, 16384};
  return *b;
}

// Relative prediction errors: 1% .. 500%, dense below the scheduler's
// default 20% margin.
const Histogram::BucketBoundaries& RelativeErrorBuckets() {
  static const Histogram::BucketBoundaries* const b =
      new Histogram::BucketBoundaries{0.01, 0.02, 0.05, 0.1, 0.15, 0.2,
                                      0.3,  0.5,  1.0,  2.0, 5.0};
  return *b;
}

std::string Str(std::string_view s) { return std::string(s); }

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("fastrel_requests_total")
                   .Help("Score requests by model and gRPC status code.")
                   .Register(*registry_);
  request_latency_ = &prometheus::BuildHistogram()
                          .Name("fastrel_request_latency_seconds")
                          .Help("Server-side Score latency, receipt to reply.")
                          .Register(*registry_);
  queue_latency_ =
      &prometheus::BuildHistogram()
           .Name("fastrel_queue_latency_seconds")
           .Help("Longest time a request's pairs waited in the batch queue.")
           .Register(*registry_);
  compute_latency_ = &prometheus::BuildHistogram()
                          .Name("fastrel_batch_compute_seconds")
                          .Help("Engine time per batch.")
                          .Register(*registry_);
  batch_pairs_ = &prometheus::BuildHistogram()
                      .Name("fastrel_batch_pairs")
                      .Help("Pairs per batch.")
                      .Register(*registry_);
  batch_tokens_ = &prometheus::BuildHistogram()
                       .Name("fastrel_batch_tokens")
                       .Help("Tokens per batch.")
                       .Register(*registry_);
  batches_ = &prometheus::BuildCounter()
                  .Name("fastrel_batches_total")
                  .Help("Batches run, by model and variant.")
                  .Register(*registry_);
  shed_ = &prometheus::BuildCounter()
               .Name("fastrel_shed_pairs_total")
               .Help("Pairs not run: deadline passed, shed, or queue full.")
               .Register(*registry_);
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("fastrel_queue_depth")
                      .Help("Pairs waiting in the batch queue.")
                      .Register(*registry_);
  cost_error_ =
      &prometheus::BuildHistogram()
           .Name("fastrel_cost_prediction_relative_error")
           .Help(
               "Per batch |measured - predicted| / predicted run time of "
               "the variant that ran (clock = wall or thread_cpu).")
           .Register(*registry_);
  cost_predicted_ = &prometheus::BuildCounter()
                         .Name("fastrel_cost_predicted_seconds_total")
                         .Help("Predicted batch run time, summed.")
                         .Register(*registry_);
  cost_measured_ =
      &prometheus::BuildCounter()
           .Name("fastrel_cost_measured_seconds_total")
           .Help(
               "Measured run time of batches with a prediction, summed "
               "(clock = wall or thread_cpu).")
           .Register(*registry_);
  cost_holdout_p90_ =
      &prometheus::BuildGauge()
           .Name("fastrel_cost_model_holdout_p90_relative_error")
           .Help(
               "Cost model calibration: 90th percentile of |predicted - "
               "measured| / measured on held-out batch shapes.")
           .Register(*registry_);
  cost_holdout_median_ =
      &prometheus::BuildGauge()
           .Name("fastrel_cost_model_holdout_median_relative_error")
           .Help(
               "Cost model calibration: median of |predicted - measured| / "
               "measured on held-out batch shapes.")
           .Register(*registry_);
  cost_calibration_seconds_ =
      &prometheus::BuildGauge()
           .Name("fastrel_cost_model_calibration_seconds")
           .Help("Wall time the cost model calibration took at load.")
           .Register(*registry_);
}

ServerMetrics::~ServerMetrics() = default;

absl::Status ServerMetrics::StartExposer(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  return absl::OkStatus();
}

void ServerMetrics::RecordRequest(std::string_view model, std::string_view code,
                                  absl::Duration total) {
  requests_->Add({{"model", Str(model)}, {"code", Str(code)}}).Increment();
  request_latency_->Add({{"model", Str(model)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total));
}

void ServerMetrics::RecordQueueWait(std::string_view model,
                                    absl::Duration wait) {
  queue_latency_->Add({{"model", Str(model)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(wait));
}

void ServerMetrics::RecordBatch(std::string_view model,
                                std::string_view variant, int pairs, int tokens,
                                absl::Duration compute) {
  prometheus::Labels labels{{"model", Str(model)}, {"variant", Str(variant)}};
  compute_latency_->Add(labels, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(compute));
  batches_->Add(labels).Increment();
  batch_pairs_->Add({{"model", Str(model)}}, PairBuckets()).Observe(pairs);
  batch_tokens_->Add({{"model", Str(model)}}, TokenBuckets()).Observe(tokens);
}

void ServerMetrics::RecordShed(std::string_view model, std::string_view reason,
                               int pairs) {
  shed_->Add({{"model", Str(model)}, {"reason", Str(reason)}}).Increment(pairs);
}

void ServerMetrics::RecordCostPrediction(std::string_view model,
                                         std::string_view variant,
                                         absl::Duration predicted,
                                         absl::Duration wall,
                                         absl::Duration thread_cpu) {
  const double p = absl::ToDoubleSeconds(predicted);
  if (!(p > 0) || predicted == absl::InfiniteDuration()) return;
  cost_predicted_->Add({{"model", Str(model)}, {"variant", Str(variant)}})
      .Increment(p);
  for (const auto& [clock, measured] :
       {std::pair<const char*, absl::Duration>{"wall", wall},
        std::pair<const char*, absl::Duration>{"thread_cpu", thread_cpu}}) {
    const double m = absl::ToDoubleSeconds(measured);
    prometheus::Labels labels{
        {"model", Str(model)}, {"variant", Str(variant)}, {"clock", clock}};
    cost_error_->Add(labels, RelativeErrorBuckets())
        .Observe(std::abs(m - p) / p);
    cost_measured_->Add(labels).Increment(std::max(0.0, m));
  }
}

void ServerMetrics::SetCostModelCalibration(std::string_view model,
                                            double seconds) {
  cost_calibration_seconds_->Add({{"model", Str(model)}}).Set(seconds);
}

void ServerMetrics::SetCostModelError(std::string_view model,
                                      std::string_view variant,
                                      double median_rel_error,
                                      double p90_rel_error) {
  prometheus::Labels labels{{"model", Str(model)}, {"variant", Str(variant)}};
  if (median_rel_error >= 0)
    cost_holdout_median_->Add(labels).Set(median_rel_error);
  if (p90_rel_error >= 0) cost_holdout_p90_->Add(labels).Set(p90_rel_error);
}

void ServerMetrics::SetQueueDepth(std::string_view model, int pairs) {
  queue_depth_->Add({{"model", Str(model)}}).Set(pairs);
}

}  // namespace fastrel::server
