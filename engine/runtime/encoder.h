// The runnable transformer: one set of weights that turns packed batches into
// logits, with optional token dropping.
#ifndef FASTREL_ENGINE_RUNTIME_ENCODER_H_
#define FASTREL_ENGINE_RUNTIME_ENCODER_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "engine/runtime/length_config.h"
#include "engine/runtime/packed_batch.h"

namespace fastrel {

// Per-worker mutable state for Encoder::Forward: scratch arena, oneDNN
// stream, cached primitives. Create one per worker thread.
// Thread safety: not thread-safe; one thread uses it at a time.
class Workspace {
 public:
  virtual ~Workspace() = default;
};

// Optional record of what Forward did, for tests and tools.
struct ForwardTrace {
  // kept[s][l] = original token positions of sequence s kept after layer l
  // (only filled for layers that dropped tokens under a non-full config).
  std::vector<std::vector<std::vector<int>>> kept;
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
