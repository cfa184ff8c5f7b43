#include "engine/model/bert_weights.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace fastrel {
namespace {

class Reader {
 public:
  explicit Reader(const SafetensorsFile& file) : file_(file) {}

  absl::Status Tensor(const std::string& name,
                      std::initializer_list<int64_t> shape,
                      std::vector<float>* out) {
    absl::StatusOr<std::vector<float>> v = file_.ReadFloat(
        name, std::span<const int64_t>(shape.begin(), shape.size()));
    if (!v.ok()) return v.status();
    *out = std::move(*v);
    return absl::OkStatus();
  }

  absl::Status Dense(const std::string& prefix, int in, int out,
                     DenseParams* d) {
    d->in = in;
    d->out = out;
    if (auto s = Tensor(prefix + ".weight", {out, in}, &d->weight); !s.ok()) {
      return s;
    }
    return Tensor(prefix + ".bias", {out}, &d->bias);
  }

  absl::Status Norm(const std::string& prefix, int hidden, LayerNormParams* n) {
    if (auto s = Tensor(prefix + ".weight", {hidden}, &n->gamma); !s.ok()) {
      return s;
    }
    return Tensor(prefix + ".bias", {hidden}, &n->beta);
  }

 private:
  const SafetensorsFile& file_;
};

#define FASTREL_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

}  // namespace

EncoderDims DimsFromConfig(const ModelConfig& c) {
  EncoderDims d;
  d.vocab_size = c.vocab_size;
  d.hidden_size = c.hidden_size;
  d.num_layers = c.num_hidden_layers;
  d.num_heads = c.num_attention_heads;
  d.intermediate_size = c.intermediate_size;
  d.max_positions = c.max_position_embeddings;
  d.type_vocab_size = c.type_vocab_size;
  d.layer_norm_eps = static_cast<float>(c.layer_norm_eps);
  return d;
}

absl::StatusOr<BertParams> LoadBertParams(const SafetensorsFile& file,
                                          const ModelConfig& config) {
  BertParams p;
  p.dims = DimsFromConfig(config);
  const int H = config.hidden_size, I = config.intermediate_size;
  Reader r(file);
  FASTREL_RETURN_IF_ERROR(r.Tensor("bert.embeddings.word_embeddings.weight",
                                   {config.vocab_size, H}, &p.word_embeddings));
  FASTREL_RETURN_IF_ERROR(r.Tensor("bert.embeddings.position_embeddings.weight",
                                   {config.max_position_embeddings, H},
                                   &p.position_embeddings));
  FASTREL_RETURN_IF_ERROR(
      r.Tensor("bert.embeddings.token_type_embeddings.weight",
               {config.type_vocab_size, H}, &p.token_type_embeddings));
  FASTREL_RETURN_IF_ERROR(
      r.Norm("bert.embeddings.LayerNorm", H, &p.embedding_norm));
  p.layers.resize(config.num_hidden_layers);
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    const std::string n = absl::StrCat("bert.encoder.layer.", l, ".");
    BertLayerParams& lp = p.layers[l];
    FASTREL_RETURN_IF_ERROR(
        r.Dense(n + "attention.self.query", H, H, &lp.query));
    FASTREL_RETURN_IF_ERROR(r.Dense(n + "attention.self.key", H, H, &lp.key));
    FASTREL_RETURN_IF_ERROR(
        r.Dense(n + "attention.self.value", H, H, &lp.value));
    FASTREL_RETURN_IF_ERROR(
        r.Dense(n + "attention.output.dense", H, H, &lp.attention_output));
    FASTREL_RETURN_IF_ERROR(
        r.Norm(n + "attention.output.LayerNorm", H, &lp.attention_norm));
    FASTREL_RETURN_IF_ERROR(
        r.Dense(n + "intermediate.dense", H, I, &lp.intermediate));
    FASTREL_RETURN_IF_ERROR(r.Dense(n + "output.dense", I, H, &lp.output));
    FASTREL_RETURN_IF_ERROR(r.Norm(n + "output.LayerNorm", H, &lp.output_norm));
  }
  FASTREL_RETURN_IF_ERROR(r.Dense("bert.pooler.dense", H, H, &p.pooler));
  FASTREL_RETURN_IF_ERROR(r.Dense("classifier", H, 1, &p.classifier));
  return p;
}

void AddLinearTensors(SafetensorsWriter& w, const std::string& prefix,
                      const DenseParams& d, bool with_weight) {
  if (with_weight) w.AddF32(prefix + ".weight", {d.out, d.in}, d.weight);
  w.AddF32(prefix + ".bias", {d.out}, d.bias);
}

void AddNormTensors(SafetensorsWriter& w, const std::string& prefix,
                    const LayerNormParams& n) {
  const int64_t h = static_cast<int64_t>(n.gamma.size());
  w.AddF32(prefix + ".weight", {h}, n.gamma);
  w.AddF32(prefix + ".bias", {h}, n.beta);
}

void AddEmbeddingAndNormTensors(SafetensorsWriter& w, const BertParams& p) {
  const EncoderDims& d = p.dims;
  w.AddF32("bert.embeddings.position_embeddings.weight",
           {d.max_positions, d.hidden_size}, p.position_embeddings);
  w.AddF32("bert.embeddings.token_type_embeddings.weight",
           {d.type_vocab_size, d.hidden_size}, p.token_type_embeddings);
  AddNormTensors(w, "bert.embeddings.LayerNorm", p.embedding_norm);
  for (int l = 0; l < d.num_layers; ++l) {
    const std::string lp = absl::StrCat("bert.encoder.layer.", l);
    AddNormTensors(w, lp + ".attention.output.LayerNorm",
                   p.layers[l].attention_norm);
    AddNormTensors(w, lp + ".output.LayerNorm", p.layers[l].output_norm);
  }
}

}  // namespace fastrel
