#include "server/registry/engine_servable.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fastrel::server {
namespace {

// One engine Workspace per distinct encoder (weights) of the model.
class EngineWorkspace : public ServableWorkspace {
 public:
  std::vector<std::pair<const Encoder*, std::unique_ptr<Workspace>>>
      per_encoder;

  Workspace* For(const Encoder& encoder) {
    for (auto& [e, ws] : per_encoder) {
      if (e == &encoder) return ws.get();
    }
    per_encoder.emplace_back(&encoder, encoder.NewWorkspace());
    return per_encoder.back().second.get();
  }
};

// Thread safety: immutable after construction.
class EngineServable : public Servable {
 public:
  // `cost`, when present, was calibrated on `model` (same variant order).
  EngineServable(std::string name, std::unique_ptr<Model> model,
                 const EngineServableOptions& options,
                 std::optional<CostModel> cost)
      : name_(std::move(name)),
        model_(std::move(model)),
        cost_(std::move(cost)) {
    max_seq_len_ = model_->max_seq_len();
    if (options.max_seq_len > 0) {
      max_seq_len_ = std::min(max_seq_len_, options.max_seq_len);
    }
    max_query_tokens_ = options.max_query_tokens;
    for (size_t i = 0; i < model_->variants().size(); ++i) {
      const Variant& v = model_->variants()[i];
      VariantInfo info{v.name, v.auc, v.relative_cost};
      if (cost_.has_value() && i < cost_->variants().size()) {
        info.cost_median_rel_error = cost_->variants()[i].median_rel_error;
        info.cost_p90_rel_error = cost_->variants()[i].p90_rel_error;
      }
      variants_.push_back(std::move(info));
    }
    if (cost_.has_value()) {
      cost_info_.calibration_seconds = cost_->calibration_ms() / 1000.0;
      cost_info_.clock =
          cost_->clock() == CostClock::kWall ? "wall" : "thread_cpu";
      cost_info_.report = cost_->Report();
    }
  }

  const std::string& name() const override { return name_; }
  const std::string& version() const override { return model_->version(); }
  const std::vector<VariantInfo>& variants() const override {
    return variants_;
  }

  EncodedPair Encode(std::string_view query,
                     std::string_view document) const override {
    return model_->tokenizer().EncodePair(query, document, max_seq_len_,
                                          max_query_tokens_);
  }

  std::unique_ptr<ServableWorkspace> NewWorkspace() const override {
    auto ws = std::make_unique<EngineWorkspace>();
    // Create the full variant's workspace now so the first request does not
    // pay for it.
    ws->For(model_->encoder(model_->variants()[0]));
    return ws;
  }

  absl::Status Run(const PackedBatch& batch, int variant, ServableWorkspace* ws,
                   std::span<float> logits) const override {
    const Variant& v = model_->variants()[variant];
    const Encoder& encoder = model_->encoder(v);
    Workspace* engine_ws = static_cast<EngineWorkspace*>(ws)->For(encoder);
    return encoder.Forward(batch, v.length, engine_ws, logits);
  }

  const CostModelInfo* cost_model() const override {
    return cost_.has_value() ? &cost_info_ : nullptr;
  }

  absl::Duration PredictCost(int variant,
                             std::span<const int> lengths) const override {
    if (!cost_.has_value()) return absl::ZeroDuration();
    const double us = cost_->PredictMicros(variant, lengths);
    if (!std::isfinite(us)) return absl::InfiniteDuration();
    return absl::Microseconds(std::max(0.0, us));
  }

 private:
  const std::string name_;
  const std::unique_ptr<Model> model_;
  int max_seq_len_ = 0;
  int max_query_tokens_ = 32;
  std::vector<VariantInfo> variants_;
  const std::optional<CostModel> cost_;
  CostModelInfo cost_info_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Servable>> LoadEngineServable(
    const std::string& name, const std::string& dir,
    const EngineServableOptions& options) {
  ModelLoadOptions load_options;
  load_options.max_seq_len = options.max_seq_len;
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir, load_options);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("loading model '", name, "' from ", dir,
                                     ": ", model.status().message()));
  }
  // Skipped variants (bad entries, weight sets that do not load) do not fail
  // the load; the operator sees why in the log.
  for (const std::string& w : (*model)->variant_warnings()) {
    std::fprintf(stderr, "fastrel-server: model '%s': %s\n", name.c_str(),
                 w.c_str());
  }
  if ((*model)->variants().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", name, "' in ", dir, " has no variants"));
  }
  std::optional<CostModel> cost;
  if (options.calibrate) {
    // Kernels run single-threaded, as on a worker (oneDNN fixes a
    // primitive's thread count when it is created).
    omp_set_num_threads(1);
    CalibrationOptions calibration = options.calibration;
    const int seq_cap =
        options.max_seq_len > 0
            ? std::min(options.max_seq_len, (*model)->max_seq_len())
            : (*model)->max_seq_len();
    if (calibration.max_length <= 0 || calibration.max_length > seq_cap) {
      calibration.max_length = seq_cap;
    }
    calibration.min_length = std::min(calibration.min_length, seq_cap);
    absl::StatusOr<CostModel> calibrated =
        CostModel::Calibrate(**model, calibration);
    if (!calibrated.ok()) {
      return absl::Status(
          calibrated.status().code(),
          absl::StrCat("calibrating the cost model of '", name, "' from ", dir,
                       ": ", calibrated.status().message()));
    }
    cost = *std::move(calibrated);
  }
  return std::make_shared<EngineServable>(name, *std::move(model), options,
                                          std::move(cost));
}

}  // namespace fastrel::server
