// int8 LinearOps: dense int8 (DenseInt8Gemm) and packed sparse int8 (4x1,
// 2:4, 1:4; SparseGemm), both with the kernels' fused epilogue (bias, GELU,
// residual) and per-output-channel symmetric weight scales.
//
// Forward quantizes the fp32 input rows into the LinearState's scratch with
// one of the activation schemes of engine/kernels/quantize.h:
//  * kDynamicSymmetric (default): one scale per token (row), s8 codes;
//  * kDynamicAsymmetric: per-token scale + zero point, u8 codes (better for
//    one-sided inputs such as the GELU output feeding the FFN-out layer);
//  * kStaticSymmetric: one per-tensor scale calibrated offline (no max pass
//    at run time, but outlier tokens are clipped).
// Then y = epilogue(float(acc) * act_scale * weight_scale + bias).
// tanh (pooler) is not fused: it is applied after the GEMM in fp32.
// Quantized-activation path (linear_op.h): ops with kDynamicSymmetric report
// input_quant() == kPerTokenSymmetricS8 and run ForwardQuantized on codes
// another op or the encoder produced (bit-identical to Forward); every int8
// op can emit per-token symmetric codes of its output through the fused
// epilogue (LinearEpilogue::quantize_out; not after tanh).
// Fused feed-forward pair (LinearOp::ForwardFfnPair): a sparse 4x1 op with
// dynamic per-token symmetric activations and GELU, followed by another
// such op, runs as one pass of engine/kernels/sparse_ffn.h where the AVX2 or
// VNNI kernels are in use (elsewhere the pair reports false: two ops).
// Thread safety: the ops are immutable after creation; Forward may run
// concurrently with distinct LinearStates (the LinearOp contract). The
// factory returned by Int8LinearFactory is not thread-safe (it consumes its
// map); BertEncoder::Create calls it from one thread.
#ifndef FASTREL_ENGINE_RUNTIME_INT8_LINEAR_H_
#define FASTREL_ENGINE_RUNTIME_INT8_LINEAR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kernels/sparse_format.h"
#include "engine/runtime/linear_op.h"

namespace fastrel {

enum class ActQuantScheme {
  kDynamicSymmetric,   // "dynamic_per_token"
  kDynamicAsymmetric,  // "dynamic_per_token_asym"
  kStaticSymmetric,    // "static_per_tensor"
};

// The names above; ParseActQuantScheme is INVALID_ARGUMENT for anything else.
std::string_view ActQuantSchemeName(ActQuantScheme scheme);
absl::StatusOr<ActQuantScheme> ParseActQuantScheme(std::string_view name);

// The weights of one int8 linear layer [out x in]. Exactly one of `sparse`
// (packed 4x1 / 2:4 / 1:4) and `dense_q` ([out x in] row-major int8 in
// [-127, 127]) is set. W ~= scales[n] * Wq[n][k]. A plain value.
struct Int8LinearWeights {
  int in = 0;
  int out = 0;
  std::optional<PackedSparseInt8> sparse;
  std::vector<int8_t> dense_q;
  std::vector<float> scales;  // [out], > 0
  std::vector<float> bias;    // [out] (may be empty = no bias)
  // kStaticSymmetric only: the per-tensor input scale (> 0), e.g.
  // calibrated max |x| / 127.
  float static_act_scale = 0.0f;
};

// Builds the int8 LinearOp for `w` with activation scheme `scheme`. Errors:
// INVALID_ARGUMENT for inconsistent sizes, non-positive scales, a missing
// static scale for kStaticSymmetric, or kernel creation failures.
absl::StatusOr<std::unique_ptr<LinearOp>> NewInt8Linear(Int8LinearWeights w,
                                                        ActQuantScheme scheme);

// Key of a LinearId in maps: (layer, kind).
using LinearKey = std::pair<int, int>;
inline LinearKey KeyOf(const LinearId& id) {
  return {id.layer, static_cast<int>(id.kind)};
}

// A LinearFactory that builds int8 ops for the layers in `layers` (whose
// bias is taken from the factory's DenseParams when the entry has none) and
// fp32 oneDNN ops for every other layer (e.g. pooler and classifier). Each
// entry is consumed (moved out) when its op is built, so the factory must be
// used for one encoder only. A shape mismatch between the entry and the
// DenseParams is INVALID_ARGUMENT naming the layer.
LinearFactory Int8LinearFactory(
    std::shared_ptr<std::map<LinearKey, Int8LinearWeights>> layers,
    ActQuantScheme scheme);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_INT8_LINEAR_H_
