#include "engine/model/model.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/model/bert_weights.h"
#include "engine/model/compiled_model.h"
#include "engine/model/safetensors.h"
#include "engine/model/variants_file.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

// tokenizer_config.json is optional; when present it must be a JSON object
// and do_lower_case, if given, a bool.
absl::StatusOr<TokenizerOptions> ReadTokenizerOptions(const std::string& path) {
  TokenizerOptions options;
  std::ifstream in(path, std::ios::binary);
  if (!in) return options;  // absent: BERT uncased defaults
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": malformed JSON (expected an object)"));
  }
  if (auto it = j.find("do_lower_case"); it != j.end()) {
    if (!it->is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": field \"do_lower_case\" must be a bool"));
    }
    options.do_lower_case = it->get<bool>();
  }
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> Model::Load(
    const std::string& dir, const ModelLoadOptions& options) {
  if (options.max_seq_len < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_seq_len must be >= 0 (got ", options.max_seq_len, ")"));
  }
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  m->options_ = options;
  absl::StatusOr<ModelConfig> config =
      ModelConfig::FromFile(dir + "/config.json");
  if (!config.ok()) return config.status();
  m->config_ = *config;

  absl::StatusOr<TokenizerOptions> tok_options =
      ReadTokenizerOptions(dir + "/tokenizer_config.json");
  if (!tok_options.ok()) return tok_options.status();
  absl::StatusOr<Tokenizer> tokenizer =
      Tokenizer::FromVocabFile(dir + "/vocab.txt", *tok_options);
  if (!tokenizer.ok()) return tokenizer.status();
  if (tokenizer->vocab_size() > m->config_.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, "/vocab.txt has ", tokenizer->vocab_size(),
        " tokens; config.json vocab_size is ", m->config_.vocab_size));
  }
  m->tokenizer_ = std::make_unique<Tokenizer>(std::move(*tokenizer));

  if (IsCompiledModelDir(dir)) {
    // A fastrel-compile output: int8 / sparse weights, validated on load.
    CompiledLoadOptions co;
    co.attention = options.attention;
    absl::StatusOr<LoadedCompiledModel> compiled =
        LoadCompiledModel(dir, m->config_, co);
    if (!compiled.ok()) return compiled.status();
    m->version_ = compiled->info.weights_checksum();
    m->source_checksum_ = compiled->info.source_checksum();
    m->encoders_.emplace_back("", std::move(compiled->encoder));
  } else {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> weights =
        SafetensorsFile::Open(dir + "/model.safetensors");
    if (!weights.ok()) return weights.status();
    m->version_ = Fnv1a64Hex((*weights)->bytes());
    m->source_checksum_ = m->version_;
    absl::StatusOr<BertParams> params = LoadBertParams(**weights, m->config_);
    if (!params.ok()) return params.status();
    weights->reset();  // unmap: the params hold fp32 copies
    absl::StatusOr<std::unique_ptr<BertEncoder>> encoder =
        NewFp32Encoder(std::move(*params));
    if (!encoder.ok()) {
      return absl::Status(encoder.status().code(),
                          absl::StrCat(dir, ": ", encoder.status().message()));
    }
    m->encoders_.emplace_back("", std::move(*encoder));
  }

  m->max_seq_len_ = m->config_.max_position_embeddings;
  if (options.max_seq_len > 0) {
    m->max_seq_len_ = std::min(m->max_seq_len_, options.max_seq_len);
  }
  VariantsReadResult read = ReadVariantsFile(dir, m->config_.num_hidden_layers);
  m->variant_warnings_ = std::move(read.warnings);
  // Each named weight set once; a variant whose weights do not load is
  // skipped with a warning, like any other bad variant.
  absl::flat_hash_map<std::string, std::string> failed;  // name -> why
  for (Variant& v : read.variants) {
    if (v.weights.empty() || failed.contains(v.weights)) continue;
    const bool loaded =
        std::any_of(m->encoders_.begin(), m->encoders_.end(),
                    [&](const auto& e) { return e.first == v.weights; });
    if (loaded) continue;
    absl::StatusOr<std::unique_ptr<Encoder>> enc = m->LoadWeightSet(v.weights);
    if (enc.ok()) {
      m->encoders_.emplace_back(v.weights, std::move(*enc));
    } else {
      failed[v.weights] = std::string(enc.status().message());
    }
  }
  for (Variant& v : read.variants) {
    if (auto it = failed.find(v.weights); it != failed.end()) {
      m->variant_warnings_.push_back(
          absl::StrCat(dir, "/", kVariantsFileName, ": variant \"", v.name,
                       "\" skipped: its weights \"", v.weights,
                       "\" do not load: ", it->second));
    } else {
      m->variants_.push_back(std::move(v));
    }
  }
  return m;
}

absl::StatusOr<std::unique_ptr<Encoder>> Model::LoadWeightSet(
    const std::string& name) const {
  if (std::string p = WeightsNameProblem(name); !p.empty()) {
    return absl::InvalidArgumentError(p);
  }
  // A compiled model of the primary's source model (or of a fine-tuned copy
  // of it, checked below).
  const std::string wdir = VariantWeightsDir(dir_, name);
  if (!IsCompiledModelDir(wdir)) {
    return absl::NotFoundError(absl::StrCat(
        wdir, " holds no compiled model (no ", kCompiledInfoFile, ")"));
  }
  CompiledLoadOptions co;
  co.attention = options_.attention;
  absl::StatusOr<LoadedCompiledModel> compiled =
      LoadCompiledModel(wdir, config_, co);
  if (!compiled.ok()) return compiled.status();
  // A set compiled from this model's source, or from a fine-tuned copy of
  // it (base_source_checksum, tools/finetune).
  if (compiled->info.source_checksum() != source_checksum_ &&
      compiled->info.base_source_checksum() != source_checksum_) {
    return absl::InvalidArgumentError(absl::StrCat(
        wdir, " was compiled from another model (source_checksum ",
        compiled->info.source_checksum(), ", base_source_checksum \"",
        compiled->info.base_source_checksum(), "\"; this model's source is ",
        source_checksum_, ")"));
  }
  return std::unique_ptr<Encoder>(std::move(compiled->encoder));
}

const Variant* Model::FindVariant(std::string_view name) const {
  for (const Variant& v : variants_) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const Encoder& Model::encoder(const Variant& variant) const {
  for (const auto& [name, enc] : encoders_) {
    if (name == variant.weights) return *enc;
  }
  return *encoders_.front().second;  // primary weights
}

}  // namespace fastrel
