// fastrel-compile: one-shot pruning + int8 quantization of a Hugging Face
// BERT cross-encoder into a compiled fastrel model directory.
//
//   fastrel-compile --input models/demo --output /tmp/demo-4x1-80
//     --sparsity 0.8 --pattern 4x1 --quantize int8 --method obs
//     --calibration ../shared/data/dev.tsv
//
// Pipeline (SparseGPT-style, sequential by layer): for l = 0..L-1, run the
// calibration batches through the model whose layers < l are already
// compressed (int8 ops, so their quantization error is seen downstream),
// accumulate one Hessian per distinct input of layer l (Q, K and V share
// theirs; as in the SparseGPT reference all of one layer's Hessians come
// from the same pass, i.e. the attention-output / FFN Hessians see the
// layer's uncompressed Q/K/V), prune + quantize the six linears, report the
// per-layer relative error, go on. Pooler and classifier stay fp32.
// Calibration rows: a fixed-seed (seed 1) uniform random sample of
// --calibration_rows rows of the calibration file (all rows when it has
// fewer), in file order.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "engine/compile/compress.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/hessian.h"
#include "engine/compile/int8_weights.h"
#include "engine/compile/layer_sparsity.h"
#include "engine/compile/pattern.h"
#include "engine/compile/reconstruction.h"
#include "engine/compile/variant_search.h"
#include "engine/data/labeled_pairs.h"
#include "engine/model/bert_weights.h"
#include "engine/model/compiled_model.h"
#include "engine/model/hf_export.h"
#include "engine/model/model.h"
#include "engine/model/safetensors.h"
#include "engine/runtime/int8_linear.h"
#include "engine/runtime/length_config.h"

ABSL_FLAG(std::string, input, "", "Source Hugging Face BERT directory.");
ABSL_FLAG(std::string, output, "", "Compiled model directory to write.");
ABSL_FLAG(std::string, pattern, "4x1",
          "unstructured | 4x1 | 2:4 | 1:4 | dense (int8 only, no pruning).");
ABSL_FLAG(double, sparsity, -1,
          "Fraction of zero weights in (0, 1) (unstructured / 4x1; implied "
          "for 2:4 / 1:4).");
ABSL_FLAG(std::string, method, "obs", "obs | magnitude.");
ABSL_FLAG(std::string, quantize, "int8", "int8 | none.");
ABSL_FLAG(std::string, calibration, "",
          "TSV with header query<TAB>document[<TAB>label].");
ABSL_FLAG(int, calibration_rows, 512,
          "Calibration pairs: fixed-seed random sample of the file.");
ABSL_FLAG(int, calibration_batch, 32, "Pairs per calibration batch.");
ABSL_FLAG(std::string, calibration_keep_ratios, "1",
          "Length configs the calibration passes run under, ';'-separated: "
          "'1' (or 'full') = the full model, else one keep ratio per layer, "
          "comma-separated, non-increasing, in (0, 1], e.g. "
          "'1;0.7,0.5,0.4,0.3'. Each linear's Hessian is the mean of the "
          "per-config Hessians (each config weighs the same, however many "
          "tokens it keeps).");
ABSL_FLAG(int, block_size, 128, "OBS sweep block size (columns).");
ABSL_FLAG(double, percdamp, 0.01, "OBS damping (fraction of mean diag H).");
ABSL_FLAG(std::string, activation_quantization, "dynamic_per_token",
          "Run-time activation scheme recorded in the model: "
          "dynamic_per_token | dynamic_per_token_asym | static_per_tensor.");
ABSL_FLAG(std::string, dense_layers, "",
          "Comma-separated linears to keep dense int8 (no pruning), e.g. "
          "'attention_output' or 'layer.0.*'; matched as substrings of the "
          "layer name.");
ABSL_FLAG(std::string, layer_sparsity, "",
          "Per-linear sparsity overrides (4x1 / unstructured only), "
          "comma-separated SELECTOR=VALUE; SELECTOR = KIND (every layer), "
          "LAYER.KIND or LAYER.* (0-based layer); KIND = query | key | value "
          "| attention_output | intermediate | output; VALUE in (0, 1) or "
          "'dense' (dense int8). Most specific wins: LAYER.KIND > LAYER.* > "
          "KIND > --sparsity. E.g. 'query=0.5,key=0.5,intermediate=0.85,"
          "output=0.85,3.*=0.9'.");
ABSL_FLAG(bool, mask_from_source, false,
          "Keep the zeros the source weights already have as the mask "
          "(4x1: a block is pruned when its 4 weights are 0) instead of "
          "choosing one; --method obs, --pattern 4x1 or unstructured, no "
          "--sparsity / --layer_sparsity. For a model fine-tuned with its "
          "compiled mask fixed (tools/finetune).");
ABSL_FLAG(int, max_query_tokens, 32, "Query truncation (tokens).");
ABSL_FLAG(int, search_variants, 0,
          "After writing the model, search length configurations on "
          "--search_data and write this many variants (\"full\" included) "
          "to variants.textproto in --output (0 = no search).");
ABSL_FLAG(std::string, search_data, "",
          "Labeled TSV for --search_variants (AUC and cost).");

namespace fastrel {
namespace {

using compile::CompressedLayer;
using compile::HessianAccumulator;
using compile::Method;
using compile::Pattern;
using compile::Quantization;

constexpr char kTool[] = "fastrel-compile";
constexpr char kVersion[] = "fastrel-compile 0.1.0";

// Which Hessian a linear uses (Q/K/V share the query's input).
LinearKind InputOf(LinearKind k) {
  return (k == LinearKind::kKey || k == LinearKind::kValue) ? LinearKind::kQuery
                                                            : k;
}

struct Options {
  std::optional<Pattern> pattern;  // nullopt = dense int8
  double sparsity = 0;
  Method method = Method::kObs;
  Quantization quantization = Quantization::kInt8;
  ActQuantScheme act = ActQuantScheme::kDynamicSymmetric;
  compile::ObsOptions obs;
  std::vector<std::string> dense_layers;
  compile::LayerSparsitySpec layer_sparsity;  // checked against the model later
  std::vector<LengthConfig> calibration_configs;  // >= 1; {} = full
};

// Parses --calibration_keep_ratios (see the flag); the per-layer count is
// checked against the model later (ValidateConfigs).
absl::StatusOr<std::vector<LengthConfig>> ParseCalibrationConfigs(
    const std::string& spec) {
  std::vector<LengthConfig> out;
  for (absl::string_view part : absl::StrSplit(spec, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (part == "1" || part == "full") {
      out.emplace_back();
      continue;
    }
    LengthConfig c;
    for (absl::string_view r : absl::StrSplit(part, ',')) {
      double v;
      if (!absl::SimpleAtod(absl::StripAsciiWhitespace(r), &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--calibration_keep_ratios: '", std::string(part),
                         "' is not '1' or a comma-separated list of ratios"));
      }
      c.keep_ratios.push_back(v);
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<Options> ParseOptions() {
  Options o;
  const std::string pattern = absl::GetFlag(FLAGS_pattern);
  absl::StatusOr<Quantization> q =
      compile::ParseQuantization(absl::GetFlag(FLAGS_quantize));
  if (!q.ok()) return q.status();
  o.quantization = *q;
  absl::StatusOr<Method> m = compile::ParseMethod(absl::GetFlag(FLAGS_method));
  if (!m.ok()) return m.status();
  o.method = *m;
  if (pattern == "dense") {
    if (absl::GetFlag(FLAGS_mask_from_source)) {
      return absl::InvalidArgumentError(
          "--mask_from_source needs a pruning --pattern, not dense");
    }
    if (o.quantization != Quantization::kInt8) {
      return absl::InvalidArgumentError(
          "--pattern dense needs --quantize int8 (it is the unpruned int8 "
          "baseline)");
    }
    if (absl::GetFlag(FLAGS_sparsity) != -1) {
      return absl::InvalidArgumentError(
          "--sparsity does not apply to --pattern dense (no pruning)");
    }
  } else {
    absl::StatusOr<Pattern> p = compile::ParsePattern(pattern);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--pattern: ", p.status().message(), " (or dense)"));
    }
    o.pattern = *p;
    if (absl::GetFlag(FLAGS_mask_from_source)) {
      if (compile::IsNofM(*p) || o.method != Method::kObs ||
          absl::GetFlag(FLAGS_sparsity) != -1 ||
          !absl::GetFlag(FLAGS_layer_sparsity).empty()) {
        return absl::InvalidArgumentError(
            "--mask_from_source needs --method obs and --pattern 4x1 or "
            "unstructured, without --sparsity or --layer_sparsity (the "
            "source's zeros set the sparsity)");
      }
      o.obs.keep_source_zeros = true;
    } else {
      const double s = absl::GetFlag(FLAGS_sparsity);
      std::optional<double> requested;
      if (s != -1) requested = s;
      absl::StatusOr<double> resolved = compile::ResolveSparsity(*p, requested);
      if (!resolved.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--sparsity: ", resolved.status().message()));
      }
      o.sparsity = *resolved;
    }
  }
  absl::StatusOr<ActQuantScheme> act =
      ParseActQuantScheme(absl::GetFlag(FLAGS_activation_quantization));
  if (!act.ok()) return act.status();
  o.act = *act;
  o.obs.block_size = absl::GetFlag(FLAGS_block_size);
  o.obs.percdamp = absl::GetFlag(FLAGS_percdamp);
  o.obs.quantization = o.quantization;
  if (o.obs.block_size < 1 ||
      (o.pattern && compile::IsNofM(*o.pattern) && o.obs.block_size % 4)) {
    return absl::InvalidArgumentError(
        "--block_size must be >= 1 (a multiple of 4 for 2:4 / 1:4)");
  }
  if (!(o.obs.percdamp >= 0) || !std::isfinite(o.obs.percdamp)) {
    return absl::InvalidArgumentError("--percdamp must be finite and >= 0");
  }
  if (absl::GetFlag(FLAGS_calibration_rows) < 1 ||
      absl::GetFlag(FLAGS_calibration_batch) < 1) {
    return absl::InvalidArgumentError(
        "--calibration_rows and --calibration_batch must be >= 1");
  }
  for (absl::string_view part : absl::StrSplit(
           absl::GetFlag(FLAGS_dense_layers), ',', absl::SkipEmpty())) {
    o.dense_layers.emplace_back(part);
  }
  absl::StatusOr<compile::LayerSparsitySpec> ls =
      compile::ParseLayerSparsity(absl::GetFlag(FLAGS_layer_sparsity));
  if (!ls.ok()) return ls.status();
  o.layer_sparsity = std::move(*ls);
  if (!o.layer_sparsity.empty() &&
      (!o.pattern || compile::IsNofM(*o.pattern))) {
    return absl::InvalidArgumentError(
        "--layer_sparsity needs --pattern 4x1 or unstructured (N:M patterns "
        "imply their sparsity; use --dense_layers to keep linears dense)");
  }
  absl::StatusOr<std::vector<LengthConfig>> cc =
      ParseCalibrationConfigs(absl::GetFlag(FLAGS_calibration_keep_ratios));
  if (!cc.ok()) return cc.status();
  o.calibration_configs = std::move(*cc);
  return o;
}

std::vector<PackedBatch> CalibrationBatches(const Model& model,
                                            const std::vector<LabeledPair>& all,
                                            int rows, int batch) {
  std::vector<size_t> idx(all.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (static_cast<size_t>(rows) < idx.size()) {
    std::mt19937_64 rng(1);
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(rows);
    std::sort(idx.begin(), idx.end());
  }
  std::vector<PackedBatch> out;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (i % batch == 0) out.emplace_back();
    const LabeledPair& p = all[idx[i]];
    EncodedPair e =
        model.tokenizer().EncodePair(p.query, p.document, model.max_seq_len(),
                                     absl::GetFlag(FLAGS_max_query_tokens));
    out.back().Add(e.input_ids, e.token_type_ids);
  }
  return out;
}

// Per input of one layer: Hessian (one accumulator per calibration length
// config) and max |x| over all configs (for static scales).
struct InputStats {
  std::vector<HessianAccumulator> h;
  float amax = 0;
  absl::Status status;
};

// Turns one compressed layer into the run-time weights and its format name.
absl::StatusOr<CompiledLinear> ToCompiled(const LinearId& id,
                                          const CompressedLayer& c,
                                          std::optional<Pattern> pattern,
                                          float amax) {
  CompiledLinear cl;
  cl.id = id;
  cl.sparsity = c.sparsity;
  absl::StatusOr<Int8LinearWeights> w =
      compile::ToInt8LinearWeights(c, pattern);
  if (!w.ok()) {
    return absl::Status(
        w.status().code(),
        absl::StrCat(LinearLayerName(id), ": ", w.status().message()));
  }
  cl.weights = std::move(*w);
  cl.weights.static_act_scale = amax > 0 ? amax / 127.0f : 1.0f;
  const std::optional<SparsePattern> sp =
      compile::PackedSparsePatternOf(pattern);
  // Unstructured sparsity runs dense.
  cl.format = sp.has_value() ? SparseFormatName(*sp) : kFormatDenseInt8;
  return cl;
}

// Fraction of pruned weights (mask zeros) of a compressed layer.
double MaskSparsity(const CompressedLayer& c) {
  if (c.mask.empty()) return 0;
  const size_t zeros = std::count(c.mask.begin(), c.mask.end(), uint8_t{0});
  return static_cast<double>(zeros) / static_cast<double>(c.mask.size());
}

int Run() {
  const std::string input = absl::GetFlag(FLAGS_input);
  const std::string output = absl::GetFlag(FLAGS_output);
  const std::string calibration = absl::GetFlag(FLAGS_calibration);
  auto fail = [](const absl::Status& s, int code = 1) {
    std::fprintf(stderr, "%s: %s\n", kTool, s.ToString().c_str());
    return code;
  };
  if (input.empty() || output.empty() || calibration.empty()) {
    return fail(absl::InvalidArgumentError(
                    "--input, --output and --calibration are required"),
                2);
  }
  absl::StatusOr<Options> opts = ParseOptions();
  if (!opts.ok()) return fail(opts.status(), 2);
  const int search_variants = absl::GetFlag(FLAGS_search_variants);
  if (search_variants < 0 ||
      (search_variants > 0 && absl::GetFlag(FLAGS_search_data).empty())) {
    return fail(absl::InvalidArgumentError(
                    "--search_variants must be >= 0 and needs --search_data"),
                2);
  }
  const absl::Time start = absl::Now();

  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(input);
  if (!model.ok()) return fail(model.status());
  if (IsCompiledModelDir(input)) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(input,
                     " is already a compiled model; give the source "
                     "Hugging Face directory")));
  }
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> st =
      SafetensorsFile::Open(input + "/model.safetensors");
  if (!st.ok()) return fail(st.status());
  absl::StatusOr<BertParams> orig = LoadBertParams(**st, (*model)->config());
  if (!orig.ok()) return fail(orig.status());
  // Lineage of a fine-tuned copy of a compiled model (hf_export.h).
  std::string base_source_checksum;
  if (auto it = (*st)->metadata().find(kBaseSourceChecksumKey);
      it != (*st)->metadata().end()) {
    base_source_checksum = it->second;
  }
  st->reset();
  for (const LengthConfig& c : opts->calibration_configs) {
    if (absl::Status s = c.Validate(orig->dims.num_layers); !s.ok()) {
      return fail(absl::InvalidArgumentError(
                      absl::StrCat("--calibration_keep_ratios: ", s.message())),
                  2);
    }
  }

  if (absl::Status s = opts->layer_sparsity.Validate(orig->dims.num_layers);
      !s.ok()) {
    return fail(s, 2);
  }

  ReadPairsOptions ro;
  absl::StatusOr<std::vector<LabeledPair>> pairs =
      ReadLabeledPairs(calibration, ro);
  if (!pairs.ok()) return fail(pairs.status());
  if (pairs->empty()) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(calibration, ": no calibration rows")));
  }
  const std::vector<PackedBatch> batches =
      CalibrationBatches(**model, *pairs, absl::GetFlag(FLAGS_calibration_rows),
                         absl::GetFlag(FLAGS_calibration_batch));
  int cal_rows = 0;
  for (const PackedBatch& b : batches) cal_rows += b.num_sequences();

  const EncoderDims dims = orig->dims;
  std::map<LinearKey, Int8LinearWeights> done;  // compressed so far
  CompiledModelContents contents;
  contents.params = *orig;
  std::vector<compile::LinearSparsity> linear_sparsity;  // per linear
  std::printf(
      "%s: %s -> %s, method %s, pattern %s, sparsity %s, %d "
      "calibration pairs in %zu batches x %zu length configs (%s)\n",
      kTool, input.c_str(), output.c_str(),
      std::string(compile::MethodName(opts->method)).c_str(),
      absl::GetFlag(FLAGS_pattern).c_str(),
      opts->obs.keep_source_zeros
          ? "of the source's zeros"
          : absl::StrFormat("%.3f", opts->sparsity).c_str(),
      cal_rows, batches.size(), opts->calibration_configs.size(),
      absl::GetFlag(FLAGS_calibration_keep_ratios).c_str());
  if (!opts->layer_sparsity.empty()) {
    std::printf("  layer sparsity overrides: %s\n",
                absl::GetFlag(FLAGS_layer_sparsity).c_str());
  }
  for (int l = 0; l < dims.num_layers; ++l) {
    // Model with layers < l compressed (int8 ops), the rest fp32.
    auto layers =
        std::make_shared<std::map<LinearKey, Int8LinearWeights>>(done);
    absl::StatusOr<std::unique_ptr<BertEncoder>> enc = BertEncoder::Create(
        *orig, Int8LinearFactory(layers, opts->act), "calibration");
    if (!enc.ok()) return fail(enc.status());
    std::map<int, InputStats> stats;  // by LinearKind of the input
    for (LinearKind k : {LinearKind::kQuery, LinearKind::kAttentionOutput,
                         LinearKind::kIntermediate, LinearKind::kOutput}) {
      const int in =
          k == LinearKind::kOutput ? dims.intermediate_size : dims.hidden_size;
      stats[static_cast<int>(k)].h.assign(opts->calibration_configs.size(),
                                          HessianAccumulator(in));
    }
    size_t config = 0;  // calibration config of the running passes
    ForwardTrace trace;
    trace.linear_observer = [&](const LinearInput& x) {
      if (x.id.layer != l) return;
      auto it = stats.find(static_cast<int>(x.id.kind));
      if (it == stats.end()) return;  // K, V: same input as Q
      InputStats& s = it->second;
      const size_t n = static_cast<size_t>(x.rows) * x.cols;
      for (size_t i = 0; i < n; ++i)
        s.amax = std::max(s.amax, std::abs(x.x[i]));
      absl::Status a = s.h[config].Add(absl::MakeConstSpan(x.x, n), x.rows);
      if (s.status.ok()) s.status = a;
    };
    std::unique_ptr<Workspace> ws = (*enc)->NewWorkspace();
    std::vector<float> logits;
    for (config = 0; config < opts->calibration_configs.size(); ++config) {
      for (const PackedBatch& b : batches) {
        logits.resize(b.num_sequences());
        if (absl::Status s = (*enc)->Forward(
                b, opts->calibration_configs[config], ws.get(), logits, &trace);
            !s.ok()) {
          return fail(s);
        }
      }
    }
    // H = mean over configs of each config's (row-normalised) Hessian.
    std::map<int, std::vector<double>> hessians;
    for (auto& [k, s] : stats) {
      if (!s.status.ok()) return fail(s.status);
      std::vector<double>& sum = hessians[k];
      for (const HessianAccumulator& acc : s.h) {
        absl::StatusOr<std::vector<double>> h = acc.Hessian();
        if (!h.ok()) return fail(h.status());
        if (sum.empty()) sum.assign(h->size(), 0.0);
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*h)[i];
      }
      const double inv = 1.0 / static_cast<double>(s.h.size());
      for (double& v : sum) v *= inv;
    }
    for (LinearKind kind : {LinearKind::kQuery, LinearKind::kKey,
                            LinearKind::kValue, LinearKind::kAttentionOutput,
                            LinearKind::kIntermediate, LinearKind::kOutput}) {
      const LinearId id{l, kind};
      const std::string name = LinearLayerName(id);
      const DenseParams& d = contents.params.layers[l].linear(kind);
      const std::vector<double>& h = hessians[static_cast<int>(InputOf(kind))];
      bool keep_dense = !opts->pattern.has_value();
      for (const std::string& pat : opts->dense_layers) {
        if (name.find(pat) != std::string::npos) keep_dense = true;
      }
      double sparsity = opts->sparsity;
      if (!keep_dense) {
        const std::optional<double> s =
            opts->layer_sparsity.Resolve(l, LinearKindName(kind), sparsity);
        if (s.has_value()) {
          sparsity = *s;
        } else {
          keep_dense = true;
        }
      }
      absl::StatusOr<CompressedLayer> c;
      if (keep_dense) {
        c = compile::QuantizeDenseInt8(d.weight, d.out, d.in);
      } else {
        c = compile::CompressLayer(
            opts->method, d.weight, d.out, d.in, h, *opts->pattern,
            opts->obs.keep_source_zeros ? std::nullopt
                                        : std::optional<double>(sparsity),
            opts->obs);
      }
      if (!c.ok()) {
        return fail(absl::Status(
            c.status().code(), absl::StrCat(name, ": ", c.status().message())));
      }
      absl::StatusOr<double> err = compile::RelativeReconstructionError(
          d.weight, c->weight, d.out, d.in, h);
      if (!err.ok()) return fail(err.status());
      // Recorded sparsity: the actual pruned fraction (the mask's zeros),
      // e.g. 205/256 = 0.8008 for 4x1 at 0.8 on 256 inputs.
      const double actual = MaskSparsity(*c);
      CompiledLinear cl;
      if (opts->quantization == Quantization::kNone) {
        cl.id = id;
        cl.format = kFormatDenseFp32;
        cl.sparsity = actual;
        contents.params.layers[l].linear(kind).weight = c->weight;
      } else {
        absl::StatusOr<CompiledLinear> conv =
            ToCompiled(id, *c, keep_dense ? std::nullopt : opts->pattern,
                       stats[static_cast<int>(InputOf(kind))].amax);
        if (!conv.ok()) return fail(conv.status());
        cl = std::move(*conv);
        cl.sparsity = keep_dense ? 0 : actual;
      }
      cl.relative_error = *err;
      std::printf("  %-32s %-18s sparsity %.3f  rel.error %.5f\n", name.c_str(),
                  cl.format.c_str(), cl.sparsity, *err);
      if (cl.format != kFormatDenseFp32) {
        Int8LinearWeights w = cl.weights;
        done[KeyOf(id)] = std::move(w);
      }
      contents.linears.push_back(std::move(cl));
      linear_sparsity.push_back({static_cast<int64_t>(d.out) * d.in,
                                 contents.linears.back().sparsity});
    }
    if (opts->quantization == Quantization::kNone) {
      // Later layers must see the pruned fp32 weights of this one.
      for (LinearKind kind : {LinearKind::kQuery, LinearKind::kKey,
                              LinearKind::kValue, LinearKind::kAttentionOutput,
                              LinearKind::kIntermediate, LinearKind::kOutput}) {
        orig->layers[l].linear(kind).weight =
            contents.params.layers[l].linear(kind).weight;
      }
    }
    std::fflush(stdout);
  }

  const double overall = compile::OverallSparsity(linear_sparsity);
  std::printf(
      "%s: overall encoder sparsity %.4f (zeros / weights of the %zu "
      "encoder linears)\n",
      kTool, overall, linear_sparsity.size());
  fastrel::v1::CompiledModelInfo info;
  info.set_layer_sparsity(absl::GetFlag(FLAGS_layer_sparsity));
  info.set_encoder_sparsity(overall);
  info.set_created_by(kVersion);
  info.set_source_checksum((*model)->version());
  info.set_pattern(opts->pattern ? absl::GetFlag(FLAGS_pattern) : "");
  info.set_base_source_checksum(base_source_checksum);
  // With --mask_from_source the source's zeros are the target.
  info.set_target_sparsity(opts->obs.keep_source_zeros ? overall
                                                       : opts->sparsity);
  info.set_method(opts->pattern ? std::string(compile::MethodName(opts->method))
                                : "none");
  info.set_quantize(std::string(compile::QuantizationName(opts->quantization)));
  info.set_activation_quantization(std::string(ActQuantSchemeName(opts->act)));
  info.set_calibration_file(calibration);
  info.set_calibration_rows(cal_rows);
  if (absl::Status s = WriteCompiledModel(input, output, contents, info);
      !s.ok()) {
    return fail(s);
  }
  std::printf("%s: wrote %s in %.1f s\n", kTool, output.c_str(),
              absl::ToDoubleSeconds(absl::Now() - start));
  if (search_variants > 0) {
    // Variant search on the written model (engine/compile/variant_search.h).
    SearchOptions search;
    search.search_data = absl::GetFlag(FLAGS_search_data);
    search.num_variants = search_variants;
    search.max_query_tokens = absl::GetFlag(FLAGS_max_query_tokens);
    search.progress = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()),
                   line.data());
    };
    absl::StatusOr<VariantSearchResult> r =
        SearchAndWriteVariants(output, search);
    if (!r.ok()) return fail(r.status());
    for (const Variant& v : r->variants) {
      std::printf("  variant %-6s auc %.4f  relative cost %.3f\n",
                  v.name.c_str(), v.auc, v.relative_cost);
    }
    std::printf("%s: wrote %s/variants.textproto in %.1f s total\n", kTool,
                output.c_str(), absl::ToDoubleSeconds(absl::Now() - start));
  }
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fastrel-compile --input HF_DIR --output DIR --calibration FILE.tsv "
      "[--pattern 4x1 --sparsity 0.8 --method obs --quantize int8]");
  // Accept --search-variants / --search-data (the spelling) as well
  // as the underscore flag names.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> argp;
  for (std::string& a : args) {
    if (a.rfind("--search-", 0) == 0) a[8] = '_';
    argp.push_back(a.data());
  }
  absl::ParseCommandLine(static_cast<int>(argp.size()), argp.data());
  return fastrel::Run();
}
