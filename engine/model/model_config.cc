#include "engine/model/model_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

using nlohmann::json;

absl::Status FieldError(const std::string& source, const std::string& field,
                        const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": field \"", field, "\" ", what));
}

// Reads a positive integer field; `required` fields must be present.
absl::Status ReadInt(const json& j, const std::string& source,
                     const std::string& field, bool required, int* out) {
  auto it = j.find(field);
  if (it == j.end()) {
    return required ? FieldError(source, field, "is missing")
                    : absl::OkStatus();
  }
  if (!it->is_number_integer()) {
    return FieldError(source, field, "must be an integer");
  }
  const int64_t v = it->get<int64_t>();
  if (v <= 0 || v > (int64_t{1} << 30)) {
    return FieldError(source, field,
                      absl::StrCat("must be positive (got ", v, ")"));
  }
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelConfig> ModelConfig::FromJson(const std::string& json_text,
                                                  const std::string& source) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": malformed JSON"));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": expected a JSON object"));
  }
  if (auto it = j.find("model_type"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != "bert") {
      return FieldError(
          source, "model_type",
          absl::StrCat("must be \"bert\" (got ", it->dump(), ")"));
    }
  }
  ModelConfig c;
  for (auto [field, required, out] :
       {std::tuple{"vocab_size", true, &c.vocab_size},
        std::tuple{"hidden_size", true, &c.hidden_size},
        std::tuple{"num_hidden_layers", true, &c.num_hidden_layers},
        std::tuple{"num_attention_heads", true, &c.num_attention_heads},
        std::tuple{"intermediate_size", true, &c.intermediate_size},
        std::tuple{"max_position_embeddings", true, &c.max_position_embeddings},
        std::tuple{"type_vocab_size", false, &c.type_vocab_size},
        std::tuple{"num_labels", false, &c.num_labels}}) {
    if (absl::Status s = ReadInt(j, source, field, required, out); !s.ok()) {
      return s;
    }
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    return FieldError(
        source, "hidden_size",
        absl::StrCat("(", c.hidden_size,
                     ") must be divisible by num_attention_heads (",
                     c.num_attention_heads, ")"));
  }
  if (auto it = j.find("layer_norm_eps"); it != j.end()) {
    if (!it->is_number() || !(it->get<double>() > 0) || it->get<double>() > 1) {
      return FieldError(source, "layer_norm_eps", "must be a number in (0, 1]");
    }
    c.layer_norm_eps = it->get<double>();
  }
  if (auto it = j.find("hidden_act"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != "gelu") {
      return FieldError(
          source, "hidden_act",
          absl::StrCat("must be \"gelu\" (got ", it->dump(), ")"));
    }
    c.hidden_act = it->get<std::string>();
  }
  if (c.num_labels != 1) {
    return FieldError(source, "num_labels",
                      absl::StrCat("must be 1 (got ", c.num_labels, ")"));
  }
  // HF may also express num_labels through id2label.
  if (auto it = j.find("id2label");
      it != j.end() && j.find("num_labels") == j.end()) {
    if (!it->is_object() || it->size() != 1) {
      return FieldError(source, "id2label", "must have exactly one label");
    }
  }
  if (auto it = j.find("position_embedding_type"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != "absolute") {
      return FieldError(source, "position_embedding_type",
                        "must be \"absolute\"");
    }
  }
  return c;
}

absl::StatusOr<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return FromJson(ss.str(), path);
}

}  // namespace fastrel
