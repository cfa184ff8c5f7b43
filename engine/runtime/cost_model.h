// Per-variant batch cost model: predicts how long Encoder::Forward takes on a
// packed batch from its sequence lengths, so the scheduler can pick the most
// accurate variant that meets a deadline (DESIGN.md, request flow step 4).
//
// Model, per variant v, for a batch of sequence lengths n_1..n_S:
//
//   t_v(batch) = a + b * T + c * Q + d * S       (microseconds)
//
// with T = Σ_i tokens and Q = Σ_i tokens² (attention). With
// `length_aware` features (the default) T and Q count what the variant's
// length config actually runs: T = (1/L) Σ_l Σ_i k_{l-1}(n_i) and
// Q = (1/L) Σ_l Σ_i k_{l-1}(n_i)² over the L layers, where k_{l-1}(n) is the
// number of tokens entering layer l (LengthConfig::KeptTokens; k_{-1} = n).
// For the full variant these are exactly Σ n_i and Σ n_i². Coefficients are
// fitted by least squares on relative error (weights 1/t²) with every
// coefficient >= 0 (exact non-negative LS by enumerating feature subsets).
#ifndef FASTREL_ENGINE_RUNTIME_COST_MODEL_H_
#define FASTREL_ENGINE_RUNTIME_COST_MODEL_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/runtime/length_config.h"

namespace fastrel {

class Encoder;  // engine/runtime/encoder.h
class Model;    // engine/model/model.h

// Which terms the fit uses (see the file comment).
struct CostFeatures {
  bool intercept = true;   // a
  bool tokens = true;      // b * T
  bool quadratic = true;   // c * Q
  bool sequences = false;  // d * S
  bool length_aware = true;

  // e.g. "1+T+Q (length-aware)".
  std::string ToString() const;
};

// Which clock the fit (and PredictMicros) uses.
enum class CostClock {
  kWall,       // steady clock on the calling thread (what a server sees)
  kThreadCpu,  // CLOCK_THREAD_CPUTIME_ID (robust to descheduling)
};

// The measured time of one batch.
struct BatchTime {
  double wall_us = 0;
  double cpu_us = 0;
};

// Times one batch of variant `variant` (index into the targets) whose
// sequences have `lengths` tokens.
using BatchTimer = std::function<absl::StatusOr<BatchTime>(
    int variant, std::span<const int> lengths)>;

struct CalibrationOptions {
  // Total wall-clock budget of the timing loop, milliseconds. Calibration
  // stops once it is spent and every variant has min_shapes_per_variant.
  double budget_ms = 2000;
  // Shapes timed per variant: at least min (8 fits 4 coefficients with
  // spare), at most max.
  int min_shapes_per_variant = 12;
  int max_shapes_per_variant = 200;
  // Fraction of each variant's shapes held out of the fit; the report's
  // errors are measured on them (0 = no held-out errors).
  double holdout_fraction = 0.25;
  // Batch shapes: S sequences, S drawn log-uniformly from
  // [1, max_sequences]; total tokens capped at max_batch_tokens (sequences
  // are dropped from the end until it fits).
  int max_sequences = 64;
  int max_batch_tokens = 4096;
  // Sequence lengths: half the shapes draw from `length_samples` (e.g. the
  // token counts of real dev pairs) when non-empty, the others (or all)
  // uniformly from [min_length, max_length]. max_length 0 = the model's
  // max_seq_len (Calibrate(Model)) or 128.
  std::vector<int> length_samples;
  int min_length = 4;
  int max_length = 0;
  // Each shape is timed this many times and the minimum kept: the least
  // disturbed run on a shared machine (an idle server core sees that one).
  int reps_per_shape = 2;
  // After the first fit, shapes whose relative error exceeds
  // max(3 x the median error, 5%) (at most 20% of the shapes, worst first)
  // are dropped and the fit redone: timings inflated by descheduling or
  // interrupts are outliers, not cost.
  bool trim_outliers = true;
  // Untimed batches per variant before the first timed one (page faults,
  // primitive creation).
  int warmup_batches = 2;
  CostFeatures features;
  // Thread CPU time by default: on an idle pinned core (the server's case)
  // it equals wall time for this single-threaded, I/O-free work, and unlike
  // wall time it stays exact when the core is shared during calibration
  // (measured: bench/results/costmodel-2026-11-21.md). Pick kWall to fit
  // the wall clock of the calibrating machine as it is.
  CostClock clock = CostClock::kThreadCpu;
  uint64_t seed = 1;
};

// One variant to calibrate: its name and length config (for length-aware
// features).
struct CostTarget {
  std::string name;
  LengthConfig length;
};

// Fitted cost of one variant and its error statistics.
struct VariantCost {
  std::string name;
  LengthConfig length;
  // Coefficients (microseconds, per token, per token², per sequence);
  // 0 for unused features.
  double a_us = 0, b_us = 0, c_us = 0, d_us = 0;
  int fit_shapes = 0;
  // Fitted shapes dropped as outliers (trim_outliers).
  int trimmed_shapes = 0;
  int holdout_shapes = 0;
  // |predicted - measured| / measured over the held-out shapes (0 if none).
  double median_rel_error = 0;
  double p90_rel_error = 0;
  double max_rel_error = 0;
  // Same over the fitted shapes (in-sample).
  double fit_median_rel_error = 0;
  double fit_p90_rel_error = 0;
};

// A calibrated cost model. Thread safety: immutable after Calibrate/Fit; all
// const methods may be called concurrently.
class CostModel {
 public:
  // Times every variant of `model` (on its encoder, on the calling thread,
  // with a fresh Workspace, random token ids) over random batch shapes and
  // fits each. INVALID_ARGUMENT on bad options, or a Forward error.
  static absl::StatusOr<CostModel> Calibrate(
      const Model& model, const CalibrationOptions& options = {});

  // Same on an arbitrary timer (tests inject synthetic timings here).
  static absl::StatusOr<CostModel> Calibrate(
      std::span<const CostTarget> targets, const BatchTimer& timer,
      const CalibrationOptions& options);

  // Fits variant `target` to measured (lengths, microseconds) samples
  // (exposed for tests and tools). INVALID_ARGUMENT with fewer samples than
  // features or a non-positive time.
  static absl::StatusOr<VariantCost> FitVariant(
      const CostTarget& target, const std::vector<std::vector<int>>& shapes,
      const std::vector<double>& micros, const CostFeatures& features,
      bool trim_outliers = false);

  // Predicted microseconds of variant `variant` (index as calibrated, =
  // the model's variants() order) on a batch of `lengths`; +infinity for an
  // unknown index (so a scheduler never picks it).
  double PredictMicros(int variant, std::span<const int> lengths) const;
  // Same by name; NOT_FOUND for an unknown name.
  absl::StatusOr<double> PredictMicros(std::string_view name,
                                       std::span<const int> lengths) const;

  const std::vector<VariantCost>& variants() const { return variants_; }
  const CostFeatures& features() const { return features_; }
  CostClock clock() const { return clock_; }
  // Wall-clock milliseconds Calibrate spent (0 for FitVariant-only models).
  double calibration_ms() const { return calibration_ms_; }

  // Human-readable table: per variant coefficients and held-out errors.
  std::string Report() const;
  // The same as a JSON object (string).
  std::string ReportJson() const;

 private:
  std::vector<VariantCost> variants_;
  CostFeatures features_;
  CostClock clock_ = CostClock::kThreadCpu;
  double calibration_ms_ = 0;
};

// One variant as run by MakeEncoderTimer.
struct TimedVariant {
  const Encoder* encoder = nullptr;  // not owned; must outlive the timer
  LengthConfig length;
};

// A BatchTimer that runs variant v's encoder (Forward, on the calling thread,
// with its own Workspace) on a batch of random token ids in [1000, vocab_size)
// ([CLS] = 101 first, token type 1 on the last two thirds), timing wall
// (steady clock) and thread CPU time (CLOCK_THREAD_CPUTIME_ID) around
// Forward only. The returned function is not thread-safe (it owns the
// workspaces).
BatchTimer MakeEncoderTimer(std::vector<TimedVariant> variants, int vocab_size,
                            uint64_t seed);

// `count` batch shapes drawn as Calibrate draws them (max_length must be
// set > 0), from `options.seed`.
std::vector<std::vector<int>> SampleBatchShapes(
    const CalibrationOptions& options, int count);

// The feature values (T, Q, S) of a batch for a variant's length config;
// exposed for tests.
struct CostFeatureValues {
  double tokens = 0, quadratic = 0, sequences = 0;
};
CostFeatureValues ComputeCostFeatures(const LengthConfig& length,
                                      bool length_aware,
                                      std::span<const int> lengths);

// The q-quantile of `v` (q in [0, 1], nearest rank; 0 for an empty vector).
double Quantile(std::vector<double> v, double q);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_COST_MODEL_H_
