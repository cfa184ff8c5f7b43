#include "engine/model/compiled_model.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/model/bert_weights.h"
#include "engine/model/safetensors.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace fastrel {
namespace {

namespace fs = std::filesystem;
using fastrel::v1::CompiledLayerInfo;
using fastrel::v1::CompiledModelInfo;

// ---- Writing ---------------------------------------------------------------

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::string> BuildWeights(const CompiledModelContents& c,
                                         CompiledModelInfo* info) {
  const BertParams& p = c.params;
  if (absl::Status s = p.Validate(); !s.ok()) return s;
  const EncoderDims& d = p.dims;
  if (c.linears.size() != static_cast<size_t>(d.num_layers) * 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("compiled model needs ", d.num_layers * 6,
                     " encoder linears, got ", c.linears.size()));
  }
  SafetensorsWriter b(
      std::map<std::string, std::string>{{"format", "fastrel-compiled"}});
  // Word embeddings: per-row symmetric int8.
  {
    const int64_t v = d.vocab_size, h = d.hidden_size;
    std::vector<int8_t> q(static_cast<size_t>(v * h));
    std::vector<float> scale(v);
    for (int64_t r = 0; r < v; ++r) {
      const float* row = p.word_embeddings.data() + r * h;
      float amax = 0;
      for (int64_t i = 0; i < h; ++i) amax = std::max(amax, std::abs(row[i]));
      scale[r] = amax > 0 ? amax / 127.0f : 1.0f;
      for (int64_t i = 0; i < h; ++i) {
        q[r * h + i] = static_cast<int8_t>(
            std::clamp(std::nearbyint(row[i] / scale[r]), -127.0f, 127.0f));
      }
    }
    b.Add("bert.embeddings.word_embeddings.weight", "I8", {v, h}, q.data(),
          q.size());
    b.AddF32("bert.embeddings.word_embeddings.weight_scale", {v}, scale);
  }
  AddEmbeddingAndNormTensors(b, p);
  AddLinearTensors(b, "bert.pooler.dense", p.pooler, true);
  AddLinearTensors(b, "classifier", p.classifier, true);
  std::map<LinearKey, bool> seen;
  for (const CompiledLinear& cl : c.linears) {
    const LinearId& id = cl.id;
    if (id.layer < 0 || id.layer >= d.num_layers ||
        id.kind == LinearKind::kPooler || id.kind == LinearKind::kClassifier ||
        seen[KeyOf(id)]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad or duplicate compiled linear ", LinearLayerName(id)));
    }
    seen[KeyOf(id)] = true;
    const DenseParams& dense = p.layers[id.layer].linear(id.kind);
    const std::string prefix = LinearTensorPrefix(id);
    const Int8LinearWeights& w = cl.weights;
    if (cl.format == kFormatDenseFp32) {
      AddLinearTensors(b, prefix, dense, true);
    } else {
      AddLinearTensors(b, prefix, dense, false);
      if (w.in != dense.in || w.out != dense.out ||
          w.scales.size() != static_cast<size_t>(w.out)) {
        return absl::InvalidArgumentError(
            absl::StrCat(LinearLayerName(id), ": int8 weights shape mismatch"));
      }
      if (cl.format == kFormatDenseInt8) {
        if (w.dense_q.size() != static_cast<size_t>(w.in) * w.out) {
          return absl::InvalidArgumentError(
              absl::StrCat(LinearLayerName(id), ": dense int8 size mismatch"));
        }
        b.Add(prefix + ".weight_q", "I8", {w.out, w.in}, w.dense_q.data(),
              w.dense_q.size());
      } else {
        if (!w.sparse.has_value() ||
            cl.format != SparseFormatName(w.sparse->pattern())) {
          return absl::InvalidArgumentError(
              absl::StrCat(LinearLayerName(id), ": format ", cl.format,
                           " does not match its packed weights"));
        }
        const std::string blob = w.sparse->ToBytes();
        b.Add(prefix + ".weight_packed", "U8",
              {static_cast<int64_t>(blob.size())}, blob.data(), blob.size());
      }
      b.AddF32(prefix + ".weight_scale", {w.out}, w.scales);
      b.AddF32(prefix + ".act_scale", {1}, {w.static_act_scale});
    }
    CompiledLayerInfo* li = info->add_layers();
    li->set_name(LinearLayerName(id));
    li->set_format(cl.format);
    li->set_sparsity(cl.sparsity);
    li->set_relative_error(cl.relative_error);
  }
  return b.Serialize();
}

// ---- Reading ---------------------------------------------------------------

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first.empty()) {
      first = absl::StrCat("line ", line + 1, " column ", column + 1, ": ",
                           message);
    }
  }
  std::string first;
};

// Typed access to the weights file with file-and-tensor-naming errors.
class WeightsReader {
 public:
  explicit WeightsReader(const SafetensorsFile& f) : f_(f) {
    const std::span<const uint8_t> all = f.bytes();
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= static_cast<uint64_t>(all[i]) << (8 * i);
    data_ = all.data() + 8 + len;  // Open validated the header length
  }

  absl::StatusOr<std::vector<float>> F32(const std::string& name,
                                         std::vector<int64_t> shape) const {
    const SafetensorsTensor* t = f_.Find(name);
    if (t != nullptr && t->dtype != SafetensorsDType::kF32) {
      return Bad(name, absl::StrCat("dtype ", SafetensorsDTypeName(t->dtype),
                                    ", want F32"));
    }
    return f_.ReadFloat(name, shape);
  }

  // Raw bytes of an I8 / U8 tensor with the given shape (empty shape = any
  // 1-D).
  absl::StatusOr<std::string_view> Bytes(const std::string& name,
                                         SafetensorsDType dtype,
                                         std::vector<int64_t> shape) const {
    const SafetensorsTensor* t = f_.Find(name);
    if (t == nullptr) {
      return absl::NotFoundError(
          absl::StrCat(f_.path(), ": missing tensor ", name));
    }
    if (t->dtype != dtype) {
      return Bad(name, absl::StrCat("dtype ", SafetensorsDTypeName(t->dtype),
                                    ", want ", SafetensorsDTypeName(dtype)));
    }
    if (shape.empty() ? t->shape.size() != 1 : t->shape != shape) {
      return Bad(name, "unexpected shape");
    }
    return std::string_view(reinterpret_cast<const char*>(data_ + t->begin),
                            t->end - t->begin);
  }

  absl::Status Bad(const std::string& name, const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(f_.path(), ": tensor ", name, ": ", what));
  }

 private:
  const SafetensorsFile& f_;
  const uint8_t* data_;
};

#define FASTREL_ASSIGN_OR_RETURN_IMPL(lhs, expr, tmp) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)
#define FASTREL_CONCAT_INNER(a, b) a##b
#define FASTREL_CONCAT(a, b) FASTREL_CONCAT_INNER(a, b)
#define FASTREL_ASSIGN_OR_RETURN(lhs, expr) \
  FASTREL_ASSIGN_OR_RETURN_IMPL(lhs, expr,  \
                                FASTREL_CONCAT(_status_or_, __LINE__))

absl::Status ReadDenseBias(const WeightsReader& r, const std::string& prefix,
                           int in, int out, bool with_weight, DenseParams* d) {
  d->in = in;
  d->out = out;
  if (with_weight) {
    FASTREL_ASSIGN_OR_RETURN(d->weight, r.F32(prefix + ".weight", {out, in}));
  } else {
    d->weight.assign(static_cast<size_t>(in) * out, 0.0f);
  }
  FASTREL_ASSIGN_OR_RETURN(d->bias, r.F32(prefix + ".bias", {out}));
  return absl::OkStatus();
}

absl::Status ReadNorm(const WeightsReader& r, const std::string& prefix,
                      int hidden, LayerNormParams* n) {
  FASTREL_ASSIGN_OR_RETURN(n->gamma, r.F32(prefix + ".weight", {hidden}));
  FASTREL_ASSIGN_OR_RETURN(n->beta, r.F32(prefix + ".bias", {hidden}));
  return absl::OkStatus();
}

}  // namespace

std::string SparseFormatName(SparsePattern pattern) {
  switch (pattern) {
    case SparsePattern::kBlock4x1:
      return "sparse_4x1_int8";
    case SparsePattern::k2of4:
      return "sparse_2of4_int8";
    case SparsePattern::k1of4:
      return "sparse_1of4_int8";
  }
  return "sparse_unknown";
}

std::string LinearTensorPrefix(const LinearId& id) {
  const std::string lp = absl::StrCat("bert.encoder.layer.", id.layer);
  switch (id.kind) {
    case LinearKind::kQuery:
      return lp + ".attention.self.query";
    case LinearKind::kKey:
      return lp + ".attention.self.key";
    case LinearKind::kValue:
      return lp + ".attention.self.value";
    case LinearKind::kAttentionOutput:
      return lp + ".attention.output.dense";
    case LinearKind::kIntermediate:
      return lp + ".intermediate.dense";
    case LinearKind::kOutput:
      return lp + ".output.dense";
    case LinearKind::kPooler:
      return "bert.pooler.dense";
    case LinearKind::kClassifier:
      return "classifier";
  }
  return "unknown";
}

std::string LinearLayerName(const LinearId& id) {
  std::string p = LinearTensorPrefix(id);
  constexpr std::string_view kStrip = "bert.encoder.";
  if (p.compare(0, kStrip.size(), kStrip) == 0) p = p.substr(kStrip.size());
  return p;
}

bool IsCompiledModelDir(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kCompiledInfoFile, ec);
}

absl::Status WriteCompiledModel(const std::string& source_dir,
                                const std::string& output_dir,
                                const CompiledModelContents& contents,
                                CompiledModelInfo info) {
  std::error_code ec;
  const fs::path out(output_dir);
  if (output_dir.empty()) {
    return absl::InvalidArgumentError("output directory is empty");
  }
  if (fs::exists(out, ec) && !IsCompiledModelDir(output_dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat(output_dir,
                     " exists and is not a compiled fastrel model; refusing "
                     "to replace it"));
  }
  if (const fs::path parent = out.parent_path();
      !parent.empty() && !fs::create_directories(parent, ec) && ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  }
  info.set_format_version(kCompiledFormatVersion);
  info.clear_layers();
  absl::StatusOr<std::string> weights = BuildWeights(contents, &info);
  if (!weights.ok()) return weights.status();
  info.set_weights_file(kCompiledWeightsFile);
  info.set_weights_bytes(static_cast<int64_t>(weights->size()));
  info.set_weights_checksum(Fnv1a64Hex(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(weights->data()), weights->size())));

  std::string tmpl =
      absl::StrCat(out.lexically_normal().string(), ".tmp.XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary directory ", tmpl, ": ",
                     std::strerror(errno)));
  }
  const fs::path tmp(buf.data());
  fs::permissions(tmp,
                  fs::perms::owner_all | fs::perms::group_read |
                      fs::perms::group_exec | fs::perms::others_read |
                      fs::perms::others_exec,
                  ec);
  auto fail = [&](absl::Status s) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return s;
  };
  for (const char* name :
       {"config.json", "vocab.txt", "tokenizer_config.json"}) {
    const fs::path src = fs::path(source_dir) / name;
    if (!fs::exists(src, ec)) {
      if (std::string_view(name) == "tokenizer_config.json") continue;
      return fail(absl::NotFoundError(absl::StrCat(src.string(), ": missing")));
    }
    if (!fs::copy_file(src, tmp / name, ec)) {
      return fail(absl::InternalError(
          absl::StrCat("cannot copy ", src.string(), ": ", ec.message())));
    }
  }
  if (absl::Status s =
          WriteFile((tmp / kCompiledWeightsFile).string(), *weights);
      !s.ok()) {
    return fail(s);
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(info, &text);
  text = absl::StrCat(
      "# fastrel compiled model (fastrel.v1.CompiledModelInfo, "
      "proto/fastrel/v1/model.proto)\n",
      text);
  if (absl::Status s = WriteFile((tmp / kCompiledInfoFile).string(), text);
      !s.ok()) {
    return fail(s);
  }
  // Replace a previous compiled model: move it aside, move ours in, delete it.
  fs::path old;
  if (fs::exists(out, ec)) {
    old = tmp;
    old += ".old";
    fs::rename(out, old, ec);
    if (ec) {
      return fail(absl::InternalError(
          absl::StrCat("cannot move aside ", output_dir, ": ", ec.message())));
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    const std::string msg = ec.message();
    if (!old.empty()) fs::rename(old, out, ec);
    return fail(absl::InternalError(
        absl::StrCat("cannot rename into ", output_dir, ": ", msg)));
  }
  if (!old.empty()) fs::remove_all(old, ec);
  return absl::OkStatus();
}

absl::StatusOr<CompiledModelInfo> ReadCompiledModelInfo(
    const std::string& dir) {
  const std::string path = (fs::path(dir) / kCompiledInfoFile).string();
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  CompiledModelInfo info;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(*text, &info)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": malformed text proto: ", errors.first));
  }
  if (info.format_version() != kCompiledFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": unsupported format_version ", info.format_version(),
        " (this build reads version ", kCompiledFormatVersion, ")"));
  }
  auto missing = [&](const char* field) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": required field ", field, " is missing"));
  };
  if (info.weights_file().empty()) return missing("weights_file");
  if (info.weights_file().find('/') != std::string::npos ||
      info.weights_file() == "..") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": weights_file must be a file name in the model directory"));
  }
  if (info.weights_bytes() <= 0) return missing("weights_bytes");
  if (info.weights_checksum().empty()) return missing("weights_checksum");
  if (info.layers_size() == 0) return missing("layers");
  return info;
}

absl::StatusOr<CompiledModelWeights> ReadCompiledModel(
    const std::string& dir, const ModelConfig& config,
    const CompiledLoadOptions& options) {
  CompiledModelWeights m;
  FASTREL_ASSIGN_OR_RETURN(m.info, ReadCompiledModelInfo(dir));
  const std::string info_path = (fs::path(dir) / kCompiledInfoFile).string();
  ActQuantScheme& scheme = m.scheme;
  if (options.act_quant.has_value()) {
    scheme = *options.act_quant;
  } else if (!m.info.activation_quantization().empty()) {
    absl::StatusOr<ActQuantScheme> s =
        ParseActQuantScheme(m.info.activation_quantization());
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(info_path, ": ", s.status().message()));
    }
    scheme = *s;
  }
  const std::string wpath = (fs::path(dir) / m.info.weights_file()).string();
  std::error_code ec;
  const uintmax_t size = fs::file_size(wpath, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat(wpath, ": ", ec.message()));
  }
  if (size != static_cast<uintmax_t>(m.info.weights_bytes())) {
    return absl::DataLossError(absl::StrCat(
        wpath, ": size ", size, " bytes, but ", kCompiledInfoFile, " says ",
        m.info.weights_bytes(), " (truncated or replaced file)"));
  }
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open(wpath);
  if (!file.ok()) return file.status();
  const std::string checksum = Fnv1a64Hex((*file)->bytes());
  if (checksum != m.info.weights_checksum()) {
    return absl::DataLossError(absl::StrCat(
        wpath, ": checksum ", checksum, " does not match ", kCompiledInfoFile,
        " weights_checksum ", m.info.weights_checksum(), " (corrupt file)"));
  }
  const WeightsReader r(**file);

  BertParams& p = m.params;
  p.dims = DimsFromConfig(config);
  const EncoderDims& d = p.dims;
  const int h = d.hidden_size;
  {
    FASTREL_ASSIGN_OR_RETURN(std::string_view q,
                             r.Bytes("bert.embeddings.word_embeddings.weight",
                                     SafetensorsDType::kI8, {d.vocab_size, h}));
    FASTREL_ASSIGN_OR_RETURN(
        std::vector<float> scale,
        r.F32("bert.embeddings.word_embeddings.weight_scale", {d.vocab_size}));
    // Kept as int8 rows (dequantized per token by the encoder: the same
    // floats, a quarter of the memory).
    p.word_embeddings_i8.assign(q.begin(), q.end());
    p.word_embedding_scale = std::move(scale);
  }
  FASTREL_ASSIGN_OR_RETURN(p.position_embeddings,
                           r.F32("bert.embeddings.position_embeddings.weight",
                                 {d.max_positions, h}));
  FASTREL_ASSIGN_OR_RETURN(p.token_type_embeddings,
                           r.F32("bert.embeddings.token_type_embeddings.weight",
                                 {d.type_vocab_size, h}));
  if (auto s = ReadNorm(r, "bert.embeddings.LayerNorm", h, &p.embedding_norm);
      !s.ok()) {
    return s;
  }
  std::map<std::string, const CompiledLayerInfo*> by_name;
  for (const CompiledLayerInfo& li : m.info.layers()) by_name[li.name()] = &li;
  std::map<LinearKey, Int8LinearWeights>& layers = m.int8_linears;
  p.layers.resize(d.num_layers);
  for (int l = 0; l < d.num_layers; ++l) {
    const std::string lp = absl::StrCat("bert.encoder.layer.", l);
    if (auto s = ReadNorm(r, lp + ".attention.output.LayerNorm", h,
                          &p.layers[l].attention_norm);
        !s.ok()) {
      return s;
    }
    if (auto s =
            ReadNorm(r, lp + ".output.LayerNorm", h, &p.layers[l].output_norm);
        !s.ok()) {
      return s;
    }
    for (LinearKind kind : kEncoderLinearKinds) {
      const LinearId id{l, kind};
      const std::string name = LinearLayerName(id);
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(info_path, ": no layers entry for ", name));
      }
      const std::string& format = it->second->format();
      const int in = (kind == LinearKind::kOutput) ? d.intermediate_size : h;
      const int out =
          (kind == LinearKind::kIntermediate) ? d.intermediate_size : h;
      const std::string prefix = LinearTensorPrefix(id);
      DenseParams& dense = p.layers[l].linear(kind);
      const bool fp32 = format == kFormatDenseFp32;
      if (auto s = ReadDenseBias(r, prefix, in, out, fp32, &dense); !s.ok()) {
        return s;
      }
      if (fp32) continue;
      Int8LinearWeights w;
      w.in = in;
      w.out = out;
      FASTREL_ASSIGN_OR_RETURN(w.scales,
                               r.F32(prefix + ".weight_scale", {out}));
      FASTREL_ASSIGN_OR_RETURN(std::vector<float> act,
                               r.F32(prefix + ".act_scale", {1}));
      w.static_act_scale = act[0];
      if (format == kFormatDenseInt8) {
        FASTREL_ASSIGN_OR_RETURN(
            std::string_view q,
            r.Bytes(prefix + ".weight_q", SafetensorsDType::kI8, {out, in}));
        w.dense_q.assign(q.begin(), q.end());
      } else if (format == SparseFormatName(SparsePattern::kBlock4x1) ||
                 format == SparseFormatName(SparsePattern::k2of4) ||
                 format == SparseFormatName(SparsePattern::k1of4)) {
        FASTREL_ASSIGN_OR_RETURN(
            std::string_view blob,
            r.Bytes(prefix + ".weight_packed", SafetensorsDType::kU8, {}));
        absl::StatusOr<PackedSparseInt8> packed =
            PackedSparseInt8::FromBytes(blob);
        if (!packed.ok()) {
          return absl::Status(
              packed.status().code(),
              absl::StrCat(wpath, ": tensor ", prefix,
                           ".weight_packed: ", packed.status().message()));
        }
        if (format != SparseFormatName(packed->pattern()) ||
            packed->n() != out || packed->k() != in) {
          return r.Bad(
              prefix + ".weight_packed",
              absl::StrCat("packed ", SparsePatternName(packed->pattern()), " ",
                           packed->n(), "x", packed->k(),
                           " does not match format ", format, " ", out, "x",
                           in));
        }
        w.sparse.emplace(std::move(*packed));
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            info_path, ": layer ", name, ": unknown format \"", format, "\""));
      }
      layers[KeyOf(id)] = std::move(w);
    }
  }
  if (auto s = ReadDenseBias(r, "bert.pooler.dense", h, h, true, &p.pooler);
      !s.ok()) {
    return s;
  }
  if (auto s = ReadDenseBias(r, "classifier", h, 1, true, &p.classifier);
      !s.ok()) {
    return s;
  }
  return m;
}

absl::StatusOr<LoadedCompiledModel> LoadCompiledModel(
    const std::string& dir, const ModelConfig& config,
    const CompiledLoadOptions& options) {
  FASTREL_ASSIGN_OR_RETURN(CompiledModelWeights w,
                           ReadCompiledModel(dir, config, options));
  LoadedCompiledModel m;
  m.info = std::move(w.info);
  std::string description =
      absl::StrCat("compiled ", m.info.method(), " ",
                   m.info.pattern().empty() ? "dense" : m.info.pattern(), " ",
                   m.info.quantize(), " sparsity ", m.info.target_sparsity(),
                   " (", w.int8_linears.size(), " int8 linears, act ",
                   std::string(ActQuantSchemeName(w.scheme)), ")");
  BertEncoderOptions eo;
  eo.attention = options.attention.value_or(kCompiledDefaultAttention);
  absl::StatusOr<std::unique_ptr<BertEncoder>> enc = BertEncoder::Create(
      std::move(w.params),
      Int8LinearFactory(
          std::make_shared<std::map<LinearKey, Int8LinearWeights>>(
              std::move(w.int8_linears)),
          w.scheme),
      std::move(description), eo);
  if (!enc.ok()) {
    return absl::Status(enc.status().code(),
                        absl::StrCat(dir, ": ", enc.status().message()));
  }
  m.encoder = std::move(*enc);
  return m;
}

}  // namespace fastrel
