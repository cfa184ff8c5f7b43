// The BERT cross-encoder forward pass over packed batches, with token
// dropping, parameterized by the LinearOp implementation of each projection.
#ifndef FASTREL_ENGINE_RUNTIME_BERT_ENCODER_H_
#define FASTREL_ENGINE_RUNTIME_BERT_ENCODER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/runtime/attention_block.h"
#include "engine/runtime/encoder.h"
#include "engine/runtime/linear_op.h"

namespace fastrel {

// Shape of a BERT encoder. A plain value.
struct EncoderDims {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
};

struct LayerNormParams {
  std::vector<float> gamma;  // [hidden]
  std::vector<float> beta;   // [hidden]
};

struct BertLayerParams {
  DenseParams query, key, value, attention_output;
  LayerNormParams attention_norm;  // attention.output.LayerNorm
  DenseParams intermediate, output;
  LayerNormParams output_norm;  // output.LayerNorm

  // The weights of encoder linear `kind` (query .. output; the head kinds,
  // pooler and classifier, are not per layer and map to `output`).
  const DenseParams& linear(LinearKind kind) const {
    switch (kind) {
      case LinearKind::kQuery:
        return query;
      case LinearKind::kKey:
        return key;
      case LinearKind::kValue:
        return value;
      case LinearKind::kAttentionOutput:
        return attention_output;
      case LinearKind::kIntermediate:
        return intermediate;
      default:
        return output;
    }
  }
  DenseParams& linear(LinearKind kind) {
    return const_cast<DenseParams&>(std::as_const(*this).linear(kind));
  }
};

// All weights of BertForSequenceClassification (num_labels = 1), fp32 (the
// word embeddings may instead be int8 rows, below), in PyTorch layout. A
// plain value.
struct BertParams {
  EncoderDims dims;
  std::vector<float> word_embeddings;  // [vocab, hidden]
  // Or, instead (compiled models; word_embeddings then empty): int8 rows
  // with one fp32 scale per row, row r = word_embedding_scale[r] *
  // word_embeddings_i8[r] (the same floats as dequantizing at load, at a
  // quarter of the memory: a row is 4 cache lines instead of 16).
  std::vector<int8_t> word_embeddings_i8;    // [vocab, hidden]
  std::vector<float> word_embedding_scale;   // [vocab]
  std::vector<float> position_embeddings;    // [max_positions, hidden]
  std::vector<float> token_type_embeddings;  // [type_vocab, hidden]
  LayerNormParams embedding_norm;
  std::vector<BertLayerParams> layers;
  DenseParams pooler;      // [hidden, hidden]
  DenseParams classifier;  // [1, hidden]

  // OK, or INVALID_ARGUMENT naming the first tensor whose size disagrees
  // with `dims`.
  absl::Status Validate() const;
};

// Build-time choices of a BertEncoder. A plain value.
struct BertEncoderOptions {
  // Arithmetic of the attention products (attention_block.h). fp32 models
  // use kFp32; compiled int8 models choose (compiled_model.h).
  AttentionPrecision attention = AttentionPrecision::kFp32;
};

// Encoder for BertParams. Forward: embeddings + LayerNorm; per layer
// self-attention per sequence and head (RunPackedAttention), output
// projection + residual + LayerNorm, optional token dropping (length config;
// the kept tokens are chosen right after the softmax, so the context, output
// projection and LayerNorm run on kept rows only, same result),
// FFN (GELU) + residual + LayerNorm; pooler tanh on each sequence's [CLS] and
// the classifier. All sequences' tokens form one [tokens, hidden] matrix so
// every linear layer is one LinearOp call; dropped tokens are compacted away.
// Thread safety: immutable after Create; Forward may run concurrently with
// distinct Workspaces.
class BertEncoder : public Encoder {
 public:
  // Builds every linear layer through `factory`. `description` is returned by
  // Describe() (e.g. "fp32"; with int8 attention ", attention int8" is
  // appended). Fails on invalid params or a factory error.
  static absl::StatusOr<std::unique_ptr<BertEncoder>> Create(
      BertParams params, const LinearFactory& factory, std::string description,
      const BertEncoderOptions& options = {});

  std::unique_ptr<Workspace> NewWorkspace() const override;
  absl::Status Forward(const PackedBatch& batch, const LengthConfig& length,
                       Workspace* ws, std::span<float> logits,
                       ForwardTrace* trace = nullptr) const override;
  std::string Describe() const override;

  const EncoderDims& dims() const { return params_.dims; }
  const BertEncoderOptions& options() const { return options_; }
  // The linear op of `id` (for tools and tests).
  const LinearOp& linear(const LinearId& id) const;

 private:
  struct LayerOps {
    std::unique_ptr<LinearOp> query, key, value, attention_output, intermediate,
        output;
  };
  class Impl;

  BertEncoder() = default;
  absl::Status ValidateInput(const PackedBatch& batch,
                             const LengthConfig& length,
                             std::span<float> logits) const;

  // Linear weights live in the ops; their DenseParams are released.
  BertParams params_;
  std::vector<LayerOps> layers_;
  std::unique_ptr<LinearOp> pooler_, classifier_;
  std::string description_;
  BertEncoderOptions options_;
};

// An fp32 BertEncoder (oneDNN fp32 matmul for every linear layer).
absl::StatusOr<std::unique_ptr<BertEncoder>> NewFp32Encoder(BertParams params);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_BERT_ENCODER_H_
