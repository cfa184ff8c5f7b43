#include "engine/tools/synthetic_model.h"

#include <array>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/int8_weights.h"
#include "engine/compile/magnitude.h"
#include "engine/kernels/sparse_format.h"

namespace fastrel {
namespace {

constexpr char kFormatHelp[] =
    "fp32, dense-int8, 4x1:S, unstructured:S, 2:4 or 1:4 (S = sparsity in "
    "(0, 1), e.g. 4x1:0.8)";

constexpr std::array<LinearKind, 6> kEncoderKinds = {
    LinearKind::kQuery,        LinearKind::kKey,
    LinearKind::kValue,        LinearKind::kAttentionOutput,
    LinearKind::kIntermediate, LinearKind::kOutput};

absl::Status BadFormat(std::string_view spec, std::string_view why = "") {
  return absl::InvalidArgumentError(
      absl::StrCat("bad synthetic format \"", std::string(spec), "\"",
                   why.empty() ? "" : ": ", std::string(why),
                   " (valid: ", kFormatHelp, ")"));
}

}  // namespace

absl::StatusOr<EncoderDims> SyntheticDims(std::string_view shape) {
  EncoderDims d;
  d.vocab_size = 30522;
  d.type_vocab_size = 2;
  if (shape == "bert-base") {
    d.hidden_size = 768;
    d.num_layers = 12;
    d.num_heads = 12;
    d.intermediate_size = 3072;
    d.max_positions = 512;
  } else if (shape == "tiny") {
    d.hidden_size = 64;
    d.num_layers = 2;
    d.num_heads = 4;
    d.intermediate_size = 256;
    d.max_positions = 128;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown synthetic shape \"", std::string(shape),
                     "\" (valid: bert-base, tiny)"));
  }
  return d;
}

absl::StatusOr<SyntheticFormat> ParseSyntheticFormat(std::string_view spec) {
  SyntheticFormat f;
  f.name = std::string(spec);
  if (spec == "fp32") {
    f.kind = SyntheticFormat::Kind::kFp32;
    return f;
  }
  if (spec == "dense-int8") {
    f.kind = SyntheticFormat::Kind::kDenseInt8;
    return f;
  }
  f.kind = SyntheticFormat::Kind::kPrunedInt8;
  std::optional<double> sparsity;
  std::string_view pattern_text = spec;
  if (spec != "2:4" && spec != "1:4") {
    const size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) {
      return BadFormat(spec, "a sparsity is required (PATTERN:S)");
    }
    pattern_text = spec.substr(0, colon);
    double s = 0;
    const std::string_view number = spec.substr(colon + 1);
    if (!absl::SimpleAtod(absl::string_view(number.data(), number.size()),
                          &s)) {
      return BadFormat(spec, "the sparsity is not a number");
    }
    sparsity = s;
  }
  absl::StatusOr<compile::Pattern> pattern =
      compile::ParsePattern(pattern_text);
  if (!pattern.ok()) return BadFormat(spec);
  if (compile::IsNofM(*pattern) && sparsity.has_value()) {
    return BadFormat(spec, "N:M patterns imply their sparsity");
  }
  absl::StatusOr<double> resolved =
      compile::ResolveSparsity(*pattern, sparsity);
  if (!resolved.ok())
    return BadFormat(spec, std::string(resolved.status().message()));
  f.pattern = *pattern;
  f.sparsity = *resolved;
  return f;
}

BertParams RandomBertParams(const EncoderDims& dims, uint64_t seed) {
  BertParams p;
  p.dims = dims;
  const EncoderDims& d = p.dims;
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  // xorshift64*: fast enough for ~110M weights.
  auto fill = [&state](std::vector<float>* v, size_t n) {
    v->resize(n);
    for (float& x : *v) {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      const uint64_t r = state * 0x2545F4914F6CDD1Dull;
      // Uniform in [-0.0346, 0.0346): standard deviation 0.02.
      x = static_cast<float>((r >> 40) * (1.0 / (1ull << 24)) - 0.5) * 0.0693f;
    }
  };
  auto dense = [&](int in, int out) {
    DenseParams dp;
    dp.in = in;
    dp.out = out;
    fill(&dp.weight, static_cast<size_t>(in) * out);
    dp.bias.assign(out, 0.0f);
    return dp;
  };
  auto norm = [&] {
    LayerNormParams n;
    n.gamma.assign(d.hidden_size, 1.0f);
    n.beta.assign(d.hidden_size, 0.0f);
    return n;
  };
  const int h = d.hidden_size;
  fill(&p.word_embeddings, static_cast<size_t>(d.vocab_size) * h);
  fill(&p.position_embeddings, static_cast<size_t>(d.max_positions) * h);
  fill(&p.token_type_embeddings, static_cast<size_t>(d.type_vocab_size) * h);
  p.embedding_norm = norm();
  for (int l = 0; l < d.num_layers; ++l) {
    BertLayerParams layer;
    layer.query = dense(h, h);
    layer.key = dense(h, h);
    layer.value = dense(h, h);
    layer.attention_output = dense(h, h);
    layer.attention_norm = norm();
    layer.intermediate = dense(h, d.intermediate_size);
    layer.output = dense(d.intermediate_size, h);
    layer.output_norm = norm();
    p.layers.push_back(std::move(layer));
  }
  p.pooler = dense(h, h);
  p.classifier = dense(h, 1);
  return p;
}

absl::StatusOr<Int8LinearWeights> CompressSyntheticLinear(
    const DenseParams& dense, const SyntheticFormat& format) {
  absl::StatusOr<compile::CompressedLayer> c;
  switch (format.kind) {
    case SyntheticFormat::Kind::kFp32:
      return absl::InvalidArgumentError(
          "CompressSyntheticLinear: fp32 is not an int8 format");
    case SyntheticFormat::Kind::kDenseInt8:
      c = compile::QuantizeDenseInt8(dense.weight, dense.out, dense.in);
      break;
    case SyntheticFormat::Kind::kPrunedInt8:
      c = compile::PruneMagnitude(dense.weight, dense.out, dense.in,
                                  format.pattern, format.sparsity,
                                  compile::Quantization::kInt8);
      break;
  }
  if (!c.ok()) return c.status();
  absl::StatusOr<Int8LinearWeights> w = compile::ToInt8LinearWeights(
      *c, format.kind == SyntheticFormat::Kind::kPrunedInt8
              ? std::optional<compile::Pattern>(format.pattern)
              : std::nullopt);
  if (!w.ok()) return w.status();
  w->bias = dense.bias;
  return w;
}

absl::StatusOr<std::unique_ptr<BertEncoder>> NewSyntheticEncoder(
    BertParams params, const SyntheticFormat& format, ActQuantScheme act,
    AttentionPrecision attention) {
  if (format.kind == SyntheticFormat::Kind::kFp32) {
    absl::StatusOr<std::unique_ptr<BertEncoder>> e =
        NewFp32Encoder(std::move(params));
    if (!e.ok()) return e.status();
    return e;
  }
  if (act == ActQuantScheme::kStaticSymmetric) {
    return absl::InvalidArgumentError(
        "synthetic models have no calibrated static activation scales; use a "
        "dynamic activation scheme");
  }
  if (absl::Status s = params.Validate(); !s.ok()) return s;
  auto layers = std::make_shared<std::map<LinearKey, Int8LinearWeights>>();
  for (int l = 0; l < params.dims.num_layers; ++l) {
    for (LinearKind kind : kEncoderKinds) {
      DenseParams& dense = params.layers[l].linear(kind);
      absl::StatusOr<Int8LinearWeights> w =
          CompressSyntheticLinear(dense, format);
      if (!w.ok()) {
        return absl::Status(w.status().code(),
                            absl::StrCat("layer ", l, " ", LinearKindName(kind),
                                         ": ", w.status().message()));
      }
      (*layers)[KeyOf(LinearId{l, kind})] = std::move(*w);
    }
  }
  const int count = static_cast<int>(layers->size());
  BertEncoderOptions options;
  options.attention = attention;
  return BertEncoder::Create(
      std::move(params), Int8LinearFactory(layers, act),
      absl::StrCat("synthetic ", format.name, " (", count,
                   " int8 linears, act ", std::string(ActQuantSchemeName(act)),
                   ")"),
      options);
}

}  // namespace fastrel
