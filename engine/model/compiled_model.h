// The compiled (pruned / int8) model directory, format_version 1:
//
//   config.json, vocab.txt, tokenizer_config.json   copied from the source
//   fastrel_model.textproto   fastrel.v1.CompiledModelInfo (how it was made,
//                             per-layer formats, weights file size + hash)
//   fastrel_weights.safetensors   the weights, safetensors layout:
//     F32  embeddings (position, token type), every LayerNorm, every bias,
//          pooler and classifier (HF names, e.g. bert.pooler.dense.weight);
//     I8   bert.embeddings.word_embeddings.weight [vocab, hidden] plus F32
//          ...word_embeddings.weight_scale [vocab] (per-row symmetric);
//     per encoder linear PREFIX (e.g.
//     bert.encoder.layer.0.attention.self.query) according to its
//     CompiledLayerInfo.format:
//       sparse_{4x1,2of4,1of4}_int8: U8 PREFIX.weight_packed (the
//           PackedSparseInt8::ToBytes blob), F32 PREFIX.weight_scale [out];
//       dense_int8: I8 PREFIX.weight_q [out, in], F32 PREFIX.weight_scale;
//       dense_fp32: F32 PREFIX.weight [out, in];
//     and for int8 formats F32 PREFIX.act_scale [1] (calibrated per-tensor
//     input scale, used by the static activation scheme).
//
// Loading validates everything (format_version, required fields, file size
// and FNV-1a checksum, safetensors structure, every tensor's presence, dtype
// and shape, every packed blob) and reports errors as absl::Status naming the
// file and tensor; corrupt input never crashes.
// Thread safety: free functions without shared state.
#ifndef FASTREL_ENGINE_MODEL_COMPILED_MODEL_H_
#define FASTREL_ENGINE_MODEL_COMPILED_MODEL_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/model_config.h"
#include "engine/runtime/bert_encoder.h"
#include "engine/runtime/int8_linear.h"
#include "fastrel/v1/model.pb.h"

namespace fastrel {

inline constexpr int kCompiledFormatVersion = 1;
inline constexpr char kCompiledInfoFile[] = "fastrel_model.textproto";
inline constexpr char kCompiledWeightsFile[] = "fastrel_weights.safetensors";

// CompiledLayerInfo.format values.
inline constexpr char kFormatDenseFp32[] = "dense_fp32";
inline constexpr char kFormatDenseInt8[] = "dense_int8";
// "sparse_4x1_int8", "sparse_2of4_int8", "sparse_1of4_int8".
std::string SparseFormatName(SparsePattern pattern);

// The six linears of an encoder layer, in HF order.
inline constexpr LinearKind kEncoderLinearKinds[] = {
    LinearKind::kQuery,        LinearKind::kKey,
    LinearKind::kValue,        LinearKind::kAttentionOutput,
    LinearKind::kIntermediate, LinearKind::kOutput};

// The HF tensor-name prefix of a linear layer, e.g.
// "bert.encoder.layer.0.attention.self.query", "bert.pooler.dense".
std::string LinearTensorPrefix(const LinearId& id);
// The CompiledLayerInfo.name of an encoder linear, e.g.
// "layer.0.attention.self.query".
std::string LinearLayerName(const LinearId& id);

// One encoder linear layer as compiled. For int8 formats `weights` holds the
// packed sparse or dense int8 values, scales and static_act_scale (its bias
// is ignored: biases come from CompiledModelContents::params); for
// dense_fp32 the weights are params' own.
struct CompiledLinear {
  LinearId id;
  std::string format;
  double sparsity = 0;
  double relative_error = 0;
  Int8LinearWeights weights;
};

// Everything the weights file holds. A plain value.
struct CompiledModelContents {
  // fp32 embeddings, LayerNorms, biases, pooler, classifier, and the weights
  // of dense_fp32 linears (the weight of int8 linears is not read).
  BertParams params;
  // Exactly one entry per encoder linear (num_layers * 6).
  std::vector<CompiledLinear> linears;
};

// True when `dir` holds a fastrel_model.textproto.
bool IsCompiledModelDir(const std::string& dir);

// Writes the compiled model to `output_dir` atomically: everything goes to a
// fresh temporary directory beside it which is renamed into place at the end
// (an existing compiled model at output_dir is replaced; any other existing
// path is ALREADY_EXISTS; missing parent directories are created, e.g. for
// a variant weight set at <model>/weights/NAME). On error the temporary
// directory is removed and output_dir is untouched. `info` supplies the
// descriptive fields; this function sets format_version, layers,
// weights_file/bytes/checksum. Copies config.json, vocab.txt and (if present)
// tokenizer_config.json from `source_dir`.
absl::Status WriteCompiledModel(const std::string& source_dir,
                                const std::string& output_dir,
                                const CompiledModelContents& contents,
                                fastrel::v1::CompiledModelInfo info);

// Reads and validates dir/fastrel_model.textproto (syntax, format_version,
// required fields).
absl::StatusOr<fastrel::v1::CompiledModelInfo> ReadCompiledModelInfo(
    const std::string& dir);

// The attention arithmetic of a compiled int8 model unless overridden: int8
// (dev AUC within 2e-4 of fp32 attention on every model and variant measured,
// 1.1-1.2x faster end to end; bench/results/attn8-2026-11-21.md).
inline constexpr AttentionPrecision kCompiledDefaultAttention =
    AttentionPrecision::kInt8;

struct CompiledLoadOptions {
  // Overrides the info's activation_quantization (experiments, fastrel-eval
  // --act_quant).
  std::optional<ActQuantScheme> act_quant;
  // Overrides kCompiledDefaultAttention (fastrel-eval / fastrel-bench
  // --attention).
  std::optional<AttentionPrecision> attention = std::nullopt;
};

struct LoadedCompiledModel {
  fastrel::v1::CompiledModelInfo info;
  std::unique_ptr<BertEncoder> encoder;
};

// The contents of a compiled directory as read and validated, before an
// encoder is built. A plain value.
struct CompiledModelWeights {
  fastrel::v1::CompiledModelInfo info;
  // The activation scheme the encoder would use (info's, or the override).
  ActQuantScheme scheme = ActQuantScheme::kDynamicSymmetric;
  // Embeddings (word embeddings as int8 rows + scales), LayerNorms, biases,
  // pooler, classifier and dense_fp32 linears. The weights of int8 linears
  // are all-zero placeholders here: they are in int8_linears.
  BertParams params;
  // One entry per int8 encoder linear (packed sparse or dense int8).
  std::map<LinearKey, Int8LinearWeights> int8_linears;
};

// Reads and validates a compiled directory (see the file comment) whose
// config.json was already parsed into `config`. Errors name the file /
// tensor.
absl::StatusOr<CompiledModelWeights> ReadCompiledModel(
    const std::string& dir, const ModelConfig& config,
    const CompiledLoadOptions& options = {});

// Loads a compiled directory whose config.json was already parsed into
// `config`: validates the info and weights file (see file comment) and
// builds a BertEncoder with int8 LinearOps. Errors name the file / tensor.
absl::StatusOr<LoadedCompiledModel> LoadCompiledModel(
    const std::string& dir, const ModelConfig& config,
    const CompiledLoadOptions& options = {});

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_COMPILED_MODEL_H_
