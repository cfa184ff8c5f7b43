// Hugging Face BertForSequenceClassification weights <-> BertParams: the
// reader, and the writers of the HF tensor names that the compiled-model
// writer and the HF export share.
#ifndef FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_
#define FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/model/model_config.h"
#include "engine/model/safetensors.h"
#include "engine/runtime/bert_encoder.h"

namespace fastrel {

// Encoder dimensions of `config`.
EncoderDims DimsFromConfig(const ModelConfig& config);

// Reads every tensor of the BERT cross-encoder (bert.embeddings.*,
// bert.encoder.layer.{i}.*, bert.pooler.dense.*, classifier.*) from `file`,
// converting to fp32 and checking each shape against `config`. Errors name
// the file and the tensor (missing, wrong shape, non-float dtype). Extra
// tensors in the file are ignored.
absl::StatusOr<BertParams> LoadBertParams(const SafetensorsFile& file,
                                          const ModelConfig& config);

// Adds PREFIX.weight ([out, in], only when `with_weight`) and PREFIX.bias
// ([out]) as F32.
void AddLinearTensors(SafetensorsWriter& w, const std::string& prefix,
                      const DenseParams& d, bool with_weight);
// Adds PREFIX.weight (gamma) and PREFIX.bias (beta) as F32.
void AddNormTensors(SafetensorsWriter& w, const std::string& prefix,
                    const LayerNormParams& n);
// Adds, as F32 under their HF names, the position and token-type embeddings,
// the embedding LayerNorm and every encoder layer's two LayerNorms (the
// parts every fastrel weights file stores as they are).
void AddEmbeddingAndNormTensors(SafetensorsWriter& w, const BertParams& p);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_
