// The runnable transformer: one set of weights that turns packed batches into
// logits, with optional token dropping.
#ifndef FASTREL_ENGINE_RUNTIME_ENCODER_H_
#define FASTREL_ENGINE_RUNTIME_ENCODER_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/runtime/length_config.h"
#include "engine/runtime/linear_op.h"
#include "engine/runtime/packed_batch.h"

namespace fastrel {

// Per-worker mutable state for Encoder::Forward: scratch arena, oneDNN
// stream, cached primitives. Create one per worker thread. Forward makes
// OpenMP use one thread on the calling thread (omp_set_num_threads(1)):
// parallelism comes from one worker per core, each with its own Workspace.
// Thread safety: not thread-safe; one thread uses it at a time.
class Workspace {
 public:
  virtual ~Workspace() = default;
};

// Optional record of what Forward did, for tests and tools, and a hook to
// observe activations. Passing a trace may make Forward slower (it disables
// shortcuts that skip work whose result is not needed for the logits).
struct ForwardTrace {
  // kept[s][l] = original token positions of sequence s kept after layer l
  // (filled for every layer when the length config is not full; empty
  // otherwise).
  std::vector<std::vector<std::vector<int>>> kept;
  // significance[s][l][i] = attention received in layer l by the i-th token
  // of that layer's input (original position kept[s][l-1][i], or i for l = 0),
  // summed over heads and query positions. Filled like `kept`.
  std::vector<std::vector<std::vector<float>>> significance;
  // If set, called before every linear layer with its input rows (all
  // sequences of the batch, packed), in execution order. Used by the
  // compression compiler to accumulate calibration statistics.
  LinearObserver linear_observer;
};

// Thread safety: immutable after construction; Forward may run concurrently
// from many threads, each with its own Workspace.
class Encoder {
 public:
  virtual ~Encoder() = default;

  // A new workspace for this encoder (one per worker thread).
  virtual std::unique_ptr<Workspace> NewWorkspace() const = 0;

  // Writes one logit per sequence of `batch` into `logits` (size must equal
  // batch.num_sequences()). `length` must be valid for this model (see
  // LengthConfig::Validate). Every sequence must be non-empty, at most
  // max_position_embeddings long, with ids < vocab size and types < type vocab;
  // violations return INVALID_ARGUMENT. `ws` must come from NewWorkspace() of
  // this encoder.
  virtual absl::Status Forward(const PackedBatch& batch,
                               const LengthConfig& length, Workspace* ws,
                               std::span<float> logits,
                               ForwardTrace* trace = nullptr) const = 0;

  // Short description of the weights, e.g. "fp32", "int8 4x1 80%".
  virtual std::string Describe() const = 0;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_ENCODER_H_
