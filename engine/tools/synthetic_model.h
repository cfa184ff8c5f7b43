// Synthetic encoders for fastrel-bench --synthetic: a BERT-shaped model with
// random weights built in memory, served in any weight format the runtime
// has (fp32, dense int8, packed sparse int8), to measure speed at production
// scale without a trained checkpoint. Accuracy is meaningless; only speed.
//
// The int8 formats go through exactly the compile and serving code of a
// compiled model: engine/compile's PruneMagnitude / QuantizeDenseInt8
// (symmetric per-output-channel int8, magnitude pruning to the pattern),
// PackedSparseInt8::Pack, and Int8LinearFactory + BertEncoder::Create.
// Every encoder linear (Q, K, V, attention output, FFN in/out) gets the
// format; the pooler and classifier stay fp32, as in fastrel-compile.
//
// Ownership: results are returned by value / unique_ptr.
// Thread safety: pure functions (no shared state).
#ifndef FASTREL_ENGINE_TOOLS_SYNTHETIC_MODEL_H_
#define FASTREL_ENGINE_TOOLS_SYNTHETIC_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/compile/pattern.h"
#include "engine/runtime/bert_encoder.h"
#include "engine/runtime/int8_linear.h"

namespace fastrel {

// The shape of a named synthetic model: "bert-base" (12 layers, hidden 768,
// 12 heads, FFN 3072, vocab 30522, 512 positions, 2 token types) or "tiny"
// (2 layers, hidden 64, 4 heads, FFN 256, vocab 30522, 128 positions; for
// tests). INVALID_ARGUMENT naming the valid shapes otherwise.
absl::StatusOr<EncoderDims> SyntheticDims(std::string_view shape);

// The weight format of the encoder linears of a synthetic model.
struct SyntheticFormat {
  enum class Kind { kFp32, kDenseInt8, kPrunedInt8 };
  Kind kind = Kind::kFp32;
  // kPrunedInt8 only: the pattern and its resolved sparsity
  // (compile::ResolveSparsity). kUnstructured runs on the dense int8 kernels
  // (zeros stored), as fastrel-compile does; the others are packed.
  compile::Pattern pattern = compile::Pattern::k4x1;
  double sparsity = 0;
  // Canonical spelling (what ParseSyntheticFormat accepts), e.g. "4x1:0.8".
  std::string name;
};

// Parses one format spec:
//   "fp32" | "dense-int8" | "4x1:S" | "unstructured:S" | "2:4" | "1:4"
// with S the sparsity in (0, 1) (e.g. 4x1:0.8 = 80% of the 4x1 blocks
// pruned). Anything else is INVALID_ARGUMENT naming the valid specs.
absl::StatusOr<SyntheticFormat> ParseSyntheticFormat(std::string_view spec);

// fp32 BertParams of shape `dims` with random weights: every weight matrix
// and embedding uniform with standard deviation 0.02 (xorshift64*, seeded by
// `seed`, so the same seed gives the same weights whatever the format),
// biases and LayerNorm beta 0, gamma 1. Takes ~1 s for bert-base.
BertParams RandomBertParams(const EncoderDims& dims, uint64_t seed);

// Compresses one linear layer to `format` (which must be an int8 kind): the
// run-time int8 weights (bias copied from `dense`). Errors as PruneMagnitude
// / QuantizeDenseInt8 / PackedSparseInt8::Pack (e.g. INVALID_ARGUMENT for
// a shape the pattern cannot take), or INVALID_ARGUMENT for kFp32.
absl::StatusOr<Int8LinearWeights> CompressSyntheticLinear(
    const DenseParams& dense, const SyntheticFormat& format);

// Builds the encoder for `params` with every encoder linear in `format` and
// activation scheme `act` for the int8 ones (kStaticSymmetric is
// INVALID_ARGUMENT: a random model has no calibrated scales). Describe()
// says "synthetic <format name> (...)" (BertEncoder adds ", attention int8"
// when the int8 attention is used). `attention` applies to the int8 formats
// only (as for compiled models; fastrel-bench passes the compiled-model
// default); the fp32 format always runs fp32 attention. Errors as
// CompressSyntheticLinear or BertEncoder::Create, with the layer named.
absl::StatusOr<std::unique_ptr<BertEncoder>> NewSyntheticEncoder(
    BertParams params, const SyntheticFormat& format,
    ActQuantScheme act = ActQuantScheme::kDynamicSymmetric,
    AttentionPrecision attention = AttentionPrecision::kFp32);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_TOOLS_SYNTHETIC_MODEL_H_
