// config.json of a Hugging Face BERT model.
#ifndef FASTREL_ENGINE_MODEL_MODEL_CONFIG_H_
#define FASTREL_ENGINE_MODEL_MODEL_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace fastrel {

// The subset of BertConfig fastrel needs. A plain value.
struct ModelConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int num_labels = 1;
  std::string hidden_act = "gelu";

  int head_dim() const { return hidden_size / num_attention_heads; }

  // Parses config.json text. `source` names the file in error messages.
  // Fails (INVALID_ARGUMENT, naming the field) on malformed JSON, missing or
  // non-positive sizes, hidden_size not divisible by heads, num_labels != 1,
  // an unsupported hidden_act or a model_type other than "bert".
  static absl::StatusOr<ModelConfig> FromJson(const std::string& json_text,
                                              const std::string& source);
  static absl::StatusOr<ModelConfig> FromFile(const std::string& path);
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_MODEL_CONFIG_H_
