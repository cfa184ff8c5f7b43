// A servable: one loaded, runnable version of a model, as the server sees it.
// The engine-backed implementation is EngineServable (engine_servable.h); the
// batching/scheduler/worker unit tests use a fake one. Everything past the
// handler talks to models only through this interface.
#ifndef FASTREL_SERVER_REGISTRY_SERVABLE_H_
#define FASTREL_SERVER_REGISTRY_SERVABLE_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/runtime/packed_batch.h"
#include "engine/tokenizer/tokenizer.h"

namespace fastrel::server {

// What the scheduler knows about one variant.
struct VariantInfo {
  std::string name;
  // Measured accuracy (AUC); 0 = not measured.
  double auc = 0;
  // Cost relative to the full variant; 0 = not measured.
  double relative_cost = 0;
  // Held-out relative error |predicted - measured| / measured of the
  // calibrated cost model for this variant (median and 90th percentile over
  // the shapes held out of the fit); negative = no cost model.
  double cost_median_rel_error = -1;
  double cost_p90_rel_error = -1;
};

// A servable's calibrated cost model, as the server reports it.
struct CostModelInfo {
  // Wall-clock seconds the calibration took at load.
  double calibration_seconds = 0;
  // The clock the predictions are in: "thread_cpu" or "wall".
  std::string clock;
  // Per-variant coefficients and errors, human-readable (for the log).
  std::string report;
};

// Per-worker mutable state of one servable (engine workspaces).
// Thread safety: not thread-safe; used by one worker thread at a time.
class ServableWorkspace {
 public:
  virtual ~ServableWorkspace() = default;
};

// Thread safety: immutable after construction; every method may be called
// concurrently (Run with distinct workspaces).
class Servable {
 public:
  virtual ~Servable() = default;

  // Name clients use (ScoreRequest.model).
  virtual const std::string& name() const = 0;
  // Version string reported in ScoreResponse.model_version.
  virtual const std::string& version() const = 0;
  // Variants, most accurate first; never empty. Variant indices used below
  // index this vector.
  virtual const std::vector<VariantInfo>& variants() const = 0;

  // Index of the variant called `name`, or -1.
  int FindVariant(std::string_view name) const;

  // Tokenizes one (query, document) pair with the configured truncation.
  // Both strings must be valid UTF-8.
  virtual EncodedPair Encode(std::string_view query,
                             std::string_view document) const = 0;

  // A new workspace for Run (one per worker thread).
  virtual std::unique_ptr<ServableWorkspace> NewWorkspace() const = 0;

  // Writes one logit per sequence of `batch` into `logits` (same size) using
  // variant `variant` (0 <= variant < variants().size()). `ws` must come from
  // this servable's NewWorkspace(). Errors are engine errors (INTERNAL or
  // INVALID_ARGUMENT).
  virtual absl::Status Run(const PackedBatch& batch, int variant,
                           ServableWorkspace* ws,
                           std::span<float> logits) const = 0;

  // The calibrated cost model, or null when there is none (calibration
  // disabled or not supported). With one, PredictCost is meaningful and the
  // scheduler picks variants by deadline (CostAwareChooser).
  virtual const CostModelInfo* cost_model() const { return nullptr; }

  // Predicted time to run one batch of sequences with `lengths` tokens each
  // (in batch order) with `variant`. Zero = unknown: the default, used when
  // there is no cost model (nothing is shed for being too slow); +infinite
  // for a variant the model cannot predict.
  virtual absl::Duration PredictCost(int variant,
                                     std::span<const int> lengths) const {
    return absl::ZeroDuration();
  }
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_REGISTRY_SERVABLE_H_
