// The Servable backed by the engine: a fastrel::Model loaded from a directory,
// optionally with a cost model calibrated at load (engine/runtime/
// cost_model.h) that answers Servable::PredictCost.
//
// Which clock: calibration fits thread CPU time (CostClock::kThreadCpu, the
// engine's default), and predictions are compared with the worker's wall
// time around the run. On a pinned core with nothing else on it (the
// server's setting) a batch's wall time equals its thread CPU time, since
// the work is single-threaded and does no I/O; CPU time keeps the fit exact
// while other models load or other processes share the core during startup
// (on the shared dev box, wall-time fits had held-out p90 errors of 14-35%
// against 4% on CPU time: bench/results/costmodel-2026-11-21.md). When the
// serving core is oversubscribed, wall time exceeds the prediction; that
// shows as the gap between the clock="wall" and clock="thread_cpu" series of
// fastrel_cost_prediction_relative_error (server/metrics/metrics.h), and the
// scheduler's safety margin absorbs small drift.
#ifndef FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_
#define FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "engine/runtime/cost_model.h"
#include "server/registry/servable.h"

namespace fastrel::server {

struct EngineServableOptions {
  // Cap on sequence length; 0 = the model's max_position_embeddings.
  int max_seq_len = 0;
  // The query is cut to this many tokens first.
  int max_query_tokens = 32;
  // Calibrate a cost model at load (on the calling thread, which is set to
  // one OpenMP thread first, as on a worker). false = no cost model: the
  // servable predicts zero cost.
  bool calibrate = false;
  // Calibration options; max_length is capped at the servable's sequence
  // length cap.
  CalibrationOptions calibration;
};

// Loads the model in `dir` and serves it as `name`, calibrating its cost
// model when options.calibrate. Errors are the engine's load errors (naming
// the file) or calibration errors, prefixed with the model name.
absl::StatusOr<std::shared_ptr<const Servable>> LoadEngineServable(
    const std::string& name, const std::string& dir,
    const EngineServableOptions& options);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_
