#include "engine/model/hf_export.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/model/bert_weights.h"
#include "engine/model/compiled_model.h"
#include "engine/model/model_config.h"
#include "engine/model/safetensors.h"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

// scale[r] * q[r][c] for a rows x cols int8 matrix.
std::vector<float> Dequantize(std::span<const int8_t> q,
                              std::span<const float> scale, int cols) {
  std::vector<float> w(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    w[i] = scale[i / static_cast<size_t>(cols)] * static_cast<float>(q[i]);
  }
  return w;
}

}  // namespace

absl::Status ExportCompiledAsHf(const std::string& compiled_dir,
                                const std::string& output_dir) {
  absl::StatusOr<ModelConfig> config =
      ModelConfig::FromFile((fs::path(compiled_dir) / "config.json").string());
  if (!config.ok()) return config.status();
  absl::StatusOr<CompiledModelWeights> m =
      ReadCompiledModel(compiled_dir, *config);
  if (!m.ok()) return m.status();
  BertParams& p = m->params;
  const EncoderDims& d = p.dims;

  std::error_code ec;
  const fs::path out(output_dir);
  if (fs::exists(out, ec) &&
      !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return absl::AlreadyExistsError(
        absl::StrCat(output_dir, ": exists and is not an empty directory"));
  }
  fs::create_directories(out, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", output_dir, ": ", ec.message()));
  }

  // The lineage a fine-tuned copy carries into fastrel-compile
  // (CompiledModelInfo.base_source_checksum): the root source model.
  const std::string base = m->info.base_source_checksum().empty()
                               ? m->info.source_checksum()
                               : m->info.base_source_checksum();
  SafetensorsWriter b(std::map<std::string, std::string>{
      {"format", "pt"}, {kBaseSourceChecksumKey, base}});
  const std::vector<float> words =
      Dequantize(p.word_embeddings_i8, p.word_embedding_scale, d.hidden_size);
  b.AddF32("bert.embeddings.word_embeddings.weight",
           {d.vocab_size, d.hidden_size}, words);
  AddEmbeddingAndNormTensors(b, p);
  for (int l = 0; l < d.num_layers; ++l) {
    for (LinearKind kind : kEncoderLinearKinds) {
      const LinearId id{l, kind};
      DenseParams& dense = p.layers[l].linear(kind);
      auto it = m->int8_linears.find(KeyOf(id));
      if (it != m->int8_linears.end()) {
        const Int8LinearWeights& w = it->second;
        const std::vector<int8_t> q =
            w.sparse.has_value() ? w.sparse->ToDense() : w.dense_q;
        dense.weight = Dequantize(q, w.scales, w.in);
      }
      AddLinearTensors(b, LinearTensorPrefix(id), dense, true);
    }
  }
  AddLinearTensors(b, "bert.pooler.dense", p.pooler, true);
  AddLinearTensors(b, "classifier", p.classifier, true);

  for (const char* name :
       {"config.json", "vocab.txt", "tokenizer_config.json"}) {
    const fs::path src = fs::path(compiled_dir) / name;
    if (std::string_view(name) == "tokenizer_config.json" &&
        !fs::exists(src, ec)) {
      continue;
    }
    if (!fs::copy_file(src, out / name, ec)) {
      return absl::InternalError(
          absl::StrCat("cannot copy ", src.string(), ": ", ec.message()));
    }
  }
  const std::string bytes = b.Serialize();
  const fs::path weights = out / "model.safetensors";
  std::ofstream f(weights, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) {
    return absl::InternalError(absl::StrCat("cannot write ", weights.string()));
  }
  return absl::OkStatus();
}

}  // namespace fastrel
