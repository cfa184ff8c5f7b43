// Hugging Face BertForSequenceClassification weights -> BertParams.
#ifndef FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_
#define FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_

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

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_BERT_WEIGHTS_H_
