// The linear-layer interface of the encoder. Every dense projection of the
// transformer (Q, K, V, attention output, FFN in/out, pooler, classifier) is a
// LinearOp, so weight formats (fp32, dense int8, sparse int8) plug in without
// touching the encoder: an implementation computes
//
//   y[rows, out] = epilogue(x[rows, in] * W^T + b)
//
// and the encoder chooses the implementation per layer through a
// LinearFactory when it is built.
#ifndef FASTREL_ENGINE_RUNTIME_LINEAR_OP_H_
#define FASTREL_ENGINE_RUNTIME_LINEAR_OP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fastrel {

// Which projection of the model a linear layer is.
enum class LinearKind {
  kQuery,            // attention.self.query
  kKey,              // attention.self.key
  kValue,            // attention.self.value
  kAttentionOutput,  // attention.output.dense
  kIntermediate,     // intermediate.dense (FFN in, GELU)
  kOutput,           // output.dense (FFN out)
  kPooler,           // bert.pooler.dense (tanh), layer = num_layers
  kClassifier,       // classifier (1 logit), layer = num_layers
};
// "query", "key", "value", "attention_output", "intermediate", "output",
// "pooler", "classifier".
const char* LinearKindName(LinearKind kind);

// Identifies one linear layer of a model. The head (pooler, classifier) has
// layer == num_hidden_layers.
struct LinearId {
  int layer = 0;
  LinearKind kind = LinearKind::kQuery;
};

// Weights of one nn.Linear in PyTorch layout. A plain value.
struct DenseParams {
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // [out, in] row-major
  std::vector<float> bias;    // [out]
};

enum class Activation { kNone, kGelu, kTanh };

// Quantized activations passed between LinearOps (the optional int8 path;
// see LinearOp::input_quant). Only one scheme is shared between ops today:
//  * kPerTokenSymmetricS8: one fp32 scale per row (token), s8 codes, exactly
//    QuantizeRowsSymmetric of engine/kernels/quantize.h:
//      x[r][c] ~= scale[r] * codes[r * ld + c], codes in [-127, 127].
// Other activation schemes (asymmetric, static per-tensor) stay internal to
// their op: such ops report kNone and take fp32 input.
enum class ActQuant { kNone, kPerTokenSymmetricS8 };
// "none", "per_token_symmetric_s8".
const char* ActQuantName(ActQuant q);

// Read-only quantized rows of a [rows x cols] activation matrix: row r has
// its codes at codes + r * ld (ld >= cols bytes) and its scale at scale[r].
// Borrowed pointers (the caller owns the buffers); a plain value.
struct QuantizedRows {
  const int8_t* codes = nullptr;
  int64_t ld = 0;
  const float* scale = nullptr;
};

// Destination of quantized rows (same layout as QuantizedRows, writable).
struct QuantizedRowsOut {
  int8_t* codes = nullptr;
  int64_t ld = 0;
  float* scale = nullptr;
};

// Quantizes x [rows x cols] (row stride ldx floats) with `scheme` into `out`
// (codes row stride out.ld >= cols, scale [rows]). Bit-identical to what an
// op whose input_quant() is `scheme` does inside Forward. INVALID_ARGUMENT
// for kNone or bad shapes / null buffers.
absl::Status QuantizeActivations(ActQuant scheme, const float* x, int rows,
                                 int cols, int64_t ldx,
                                 const QuantizedRowsOut& out);

// (Named LinearEpilogue, not Epilogue: engine/kernels/epilogue.h defines
// fastrel::Epilogue for the int8 GEMMs, and int8 LinearOps include both.)
// What happens to x * W^T + b before it is stored, in this order:
// activation, then `residual` (same [rows, out] shape and row stride as y) is
// added. The residual may not alias y.
// Optionally (quantize_out != kNone, only for ops whose
// CanQuantizeOutput(quantize_out) is true) the final fp32 rows are also
// quantized with that scheme into `out_q` (the codes and scales of
// QuantizeActivations on the fp32 result, bit-identical), for a consumer op
// that takes quantized input; then y may be null (no fp32 output is stored).
struct LinearEpilogue {
  Activation activation = Activation::kNone;
  const float* residual = nullptr;
  ActQuant quantize_out = ActQuant::kNone;
  QuantizedRowsOut out_q;
};

// Applies bias (may be null), then `epi`, to y[rows, cols] in place. Shared by
// implementations whose GEMM does not fuse the epilogue.
void ApplyEpilogue(const float* bias, const LinearEpilogue& epi, float* y,
                   int rows, int cols);

// Per-worker mutable state of one LinearOp (primitives, scratchpads, packed
// activations). Created by LinearOp::NewState; owned by a Workspace.
// Thread safety: used by one thread at a time.
class LinearState {
 public:
  virtual ~LinearState() = default;
};

// Thread safety: immutable after construction; Forward may be called
// concurrently with distinct LinearStates.
class LinearOp {
 public:
  virtual ~LinearOp() = default;

  virtual int in_features() const = 0;
  virtual int out_features() const = 0;

  // Fresh per-worker state for Forward (never null).
  virtual std::unique_ptr<LinearState> NewState() const = 0;

  // y[rows, out_features()] = epi(x[rows, in_features()] * W^T + b). Rows of x
  // and y are contiguous (row stride = in / out features). `rows` may be 0.
  // `state` must come from this op's NewState(). Runs on the calling thread
  // only. Returns INTERNAL if the backend fails.
  virtual absl::Status Forward(const float* x, int rows, float* y,
                               const LinearEpilogue& epi,
                               LinearState* state) const = 0;

  // e.g. "fp32 256x1024".
  virtual std::string Describe() const = 0;

  // --- Optional quantized-activation path (default: not supported). ---
  //
  // The quantization Forward applies to its fp32 input, when the op can take
  // that input already quantized through ForwardQuantized; kNone (the
  // default; fp32 ops, int8 ops with asymmetric or static schemes) means
  // ForwardQuantized is unsupported. Constant for the op's lifetime.
  virtual ActQuant input_quant() const { return ActQuant::kNone; }

  // Same as Forward(x, rows, y, epi, state) for any x whose
  // QuantizeActivations(input_quant(), x, ...) is `xq` ([rows x in_features()]
  // codes and scales): the result is bit-identical. Lets several ops share
  // one quantization of the same input, or consume the codes a producer op
  // emitted through LinearEpilogue::quantize_out. `xq` is borrowed for the
  // call. Same threading and state rules as Forward. UNIMPLEMENTED when
  // input_quant() is kNone; INVALID_ARGUMENT for null / short buffers.
  virtual absl::Status ForwardQuantized(const QuantizedRows& xq, int rows,
                                        float* y, const LinearEpilogue& epi,
                                        LinearState* state) const;

  // Whether Forward / ForwardQuantized honour epi.quantize_out == scheme
  // (default: only kNone). Callers check this before asking for quantized
  // output; an op that cannot emit it may ignore the request (the fp32 op
  // does) or return INVALID_ARGUMENT (the int8 ops for tanh, which they do
  // not fuse).
  virtual bool CanQuantizeOutput(ActQuant scheme) const {
    return scheme == ActQuant::kNone;
  }

  // --- Optional fused feed-forward pair (default: not supported). ---
  //
  // y = next(GELU(this(x))) with `residual` added by next's epilogue
  // (nullable; [rows x next.out_features()] like y, row stride
  // next.out_features(), not aliasing y), bit-identical to
  //   Forward(x, rows, codes, {kGelu, quantize_out = next.input_quant()})
  //   next.ForwardQuantized(codes, rows, y, {residual})
  // but without materializing the intermediate activations. Returns false,
  // computing nothing, when this pair has no fused kernel (the default; the
  // caller then runs the two ops). `state` is this op's (from NewState());
  // same threading rules as Forward.
  virtual absl::StatusOr<bool> ForwardFfnPair(const LinearOp& next,
                                              const float* x, int rows,
                                              float* y, const float* residual,
                                              LinearState* state) const {
    return false;
  }
};

// Builds the LinearOp for layer `id` from its PyTorch weights.
using LinearFactory = std::function<absl::StatusOr<std::unique_ptr<LinearOp>>(
    const LinearId& id, const DenseParams& params)>;

// The input activations of one linear layer during a Forward, for calibration
// (e.g. Hessian accumulation X^T X in the compression compiler). `x` points at
// `rows` x `cols` contiguous floats, valid only during the callback.
struct LinearInput {
  LinearId id;
  const float* x = nullptr;
  int rows = 0;
  int cols = 0;
};
using LinearObserver = std::function<void(const LinearInput&)>;

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_LINEAR_OP_H_
