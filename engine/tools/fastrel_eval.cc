// fastrel-eval: accuracy of a model (HF or compiled) on a labeled TSV, and
// how far its scores are from an fp32 reference model's.
//
//   fastrel-eval --model DIR --data FILE.tsv [--variant full]
//     [--reference DIR] [--max_rows N] [--act_quant SCHEME]
//     [--attention fp32|int8] [--json]
//
// Scores every pair in packed batches of --batch pairs on one thread, then
// prints AUC, mean and max |score - reference score| and pairs/s (wall time
// of the scored model's Forward calls only, one worker). The reference
// defaults to the repository's models/demo (a compiled model records only its
// source's checksum, not its path; a warning is printed when the reference's
// checksum differs from it) and is skipped when it is the model itself.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/data/labeled_pairs.h"
#include "engine/data/metrics.h"
#include "engine/model/compiled_model.h"
#include "engine/model/model.h"
#include "engine/runtime/int8_linear.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, model, "", "Model directory (HF BERT or compiled).");
ABSL_FLAG(std::string, data, "", "Labeled TSV (query, document, label).");
ABSL_FLAG(std::string, variant, "full", "Variant of --model to run.");
ABSL_FLAG(std::string, reference, FASTREL_DEFAULT_REFERENCE,
          "fp32 reference model directory for |delta score|.");
ABSL_FLAG(int, max_rows, 0, "Evaluate at most this many rows (0 = all).");
ABSL_FLAG(int, batch, 32, "Pairs per packed batch.");
ABSL_FLAG(int, max_query_tokens, 32, "Query truncation (tokens).");
ABSL_FLAG(std::string, act_quant, "",
          "Compiled models only: override the activation quantization "
          "(dynamic_per_token | dynamic_per_token_asym | static_per_tensor).");
ABSL_FLAG(std::string, reference_scores, "",
          "Optional cache of the reference scores (text, one per line, first "
          "line = reference version and row count): read when it matches, "
          "else computed and written.");
ABSL_FLAG(std::string, attention, "",
          "Attention arithmetic of a compiled model: fp32 or int8 (default: "
          "the compiled-model default).");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of text.");

namespace fastrel {
namespace {

constexpr char kTool[] = "fastrel-eval";

struct Scored {
  std::vector<float> scores;
  double seconds = 0;  // Forward calls only
};

absl::StatusOr<Scored> ScoreAll(const Model& model, const Encoder& encoder,
                                const LengthConfig& length,
                                const std::vector<LabeledPair>& pairs,
                                int batch) {
  Scored out;
  out.scores.reserve(pairs.size());
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  std::vector<float> logits;
  PackedBatch b;
  for (size_t start = 0; start < pairs.size(); start += batch) {
    b.Clear();
    const size_t end = std::min(pairs.size(), start + batch);
    for (size_t i = start; i < end; ++i) {
      EncodedPair e = model.tokenizer().EncodePair(
          pairs[i].query, pairs[i].document, model.max_seq_len(),
          absl::GetFlag(FLAGS_max_query_tokens));
      b.Add(e.input_ids, e.token_type_ids);
    }
    logits.resize(b.num_sequences());
    const auto t0 = std::chrono::steady_clock::now();
    if (absl::Status s = encoder.Forward(b, length, ws.get(), logits);
        !s.ok()) {
      return s;
    }
    out.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    out.scores.insert(out.scores.end(), logits.begin(), logits.end());
  }
  return out;
}

// The reference model's scores, from --reference_scores when it matches.
absl::StatusOr<std::vector<float>> ReferenceScores(
    const Model& ref, const std::vector<LabeledPair>& pairs, int batch) {
  const std::string cache = absl::GetFlag(FLAGS_reference_scores);
  const std::string key = absl::StrCat(ref.version(), " ", pairs.size(), " ",
                                       absl::GetFlag(FLAGS_data));
  if (!cache.empty()) {
    std::ifstream in(cache);
    std::string line;
    if (in && std::getline(in, line) && line == key) {
      std::vector<float> v;
      float x;
      while (in >> x) v.push_back(x);
      if (v.size() == pairs.size()) return v;
    }
  }
  const Variant& full = ref.variants().front();
  absl::StatusOr<Scored> r =
      ScoreAll(ref, ref.encoder(full), full.length, pairs, batch);
  if (!r.ok()) return r.status();
  if (!cache.empty()) {
    std::ofstream out(cache, std::ios::trunc);
    out << key << "\n";
    out.precision(9);
    for (float x : r->scores) out << x << "\n";
  }
  return std::move(r->scores);
}

int Run() {
  auto fail = [](const absl::Status& s, int code = 1) {
    std::fprintf(stderr, "%s: %s\n", kTool, s.ToString().c_str());
    return code;
  };
  const std::string dir = absl::GetFlag(FLAGS_model);
  const std::string data = absl::GetFlag(FLAGS_data);
  const int batch = absl::GetFlag(FLAGS_batch);
  if (dir.empty() || data.empty()) {
    return fail(absl::InvalidArgumentError("--model and --data are required"),
                2);
  }
  if (batch < 1 || absl::GetFlag(FLAGS_max_rows) < 0) {
    return fail(
        absl::InvalidArgumentError("--batch must be >= 1 and --max_rows >= 0"),
        2);
  }
  ModelLoadOptions mlo;
  const std::string attention_flag = absl::GetFlag(FLAGS_attention);
  if (!attention_flag.empty()) {
    mlo.attention = ParseAttentionPrecision(attention_flag);
    if (!mlo.attention.has_value()) {
      return fail(
          absl::InvalidArgumentError(absl::StrCat(
              "--attention must be fp32 or int8, not ", attention_flag)),
          2);
    }
  }
  const AttentionPrecision attention =
      !IsCompiledModelDir(dir)
          ? AttentionPrecision::kFp32
          : mlo.attention.value_or(kCompiledDefaultAttention);
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir, mlo);
  if (!model.ok()) return fail(model.status());
  const Variant* variant = (*model)->FindVariant(absl::GetFlag(FLAGS_variant));
  if (variant == nullptr) {
    std::string names;
    for (const Variant& v : (*model)->variants()) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", v.name);
    }
    return fail(absl::NotFoundError(absl::StrCat(dir, " has no variant \"",
                                                 absl::GetFlag(FLAGS_variant),
                                                 "\" (variants: ", names, ")")),
                2);
  }
  const Encoder* encoder = &(*model)->encoder(*variant);
  std::unique_ptr<BertEncoder> override_encoder;
  std::string act_quant = absl::GetFlag(FLAGS_act_quant);
  if (!act_quant.empty()) {
    if (!IsCompiledModelDir(dir)) {
      return fail(absl::InvalidArgumentError(
                      "--act_quant applies to compiled models only"),
                  2);
    }
    absl::StatusOr<ActQuantScheme> scheme = ParseActQuantScheme(act_quant);
    if (!scheme.ok()) return fail(scheme.status(), 2);
    CompiledLoadOptions lo;
    lo.act_quant = *scheme;
    lo.attention = mlo.attention;
    absl::StatusOr<LoadedCompiledModel> c =
        LoadCompiledModel(dir, (*model)->config(), lo);
    if (!c.ok()) return fail(c.status());
    override_encoder = std::move(c->encoder);
    encoder = override_encoder.get();
  } else if (IsCompiledModelDir(dir)) {
    absl::StatusOr<fastrel::v1::CompiledModelInfo> info =
        ReadCompiledModelInfo(dir);
    if (info.ok()) act_quant = info->activation_quantization();
  }

  ReadPairsOptions ro;
  ro.require_labels = true;
  ro.max_rows = static_cast<size_t>(absl::GetFlag(FLAGS_max_rows));
  absl::StatusOr<std::vector<LabeledPair>> pairs = ReadLabeledPairs(data, ro);
  if (!pairs.ok()) return fail(pairs.status());
  if (pairs->empty()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(data, ": no rows")));
  }
  std::vector<int> labels;
  for (const LabeledPair& p : *pairs) labels.push_back(p.label);

  absl::StatusOr<Scored> scored =
      ScoreAll(**model, *encoder, variant->length, *pairs, batch);
  if (!scored.ok()) return fail(scored.status());
  absl::StatusOr<double> auc = Auc(scored->scores, labels);
  if (!auc.ok()) return fail(auc.status());

  // Reference scores (fp32 source model).
  const std::string ref_dir = absl::GetFlag(FLAGS_reference);
  double mean_delta = 0, max_delta = 0;
  double ref_auc = 0;
  const bool have_ref = !ref_dir.empty() && ref_dir != dir;
  if (have_ref) {
    absl::StatusOr<std::unique_ptr<Model>> ref = Model::Load(ref_dir);
    if (!ref.ok()) return fail(ref.status());
    if (IsCompiledModelDir(dir)) {
      absl::StatusOr<fastrel::v1::CompiledModelInfo> info =
          ReadCompiledModelInfo(dir);
      // The source, or the model a fine-tuned source descends from.
      if (info.ok() && info->source_checksum() != (*ref)->version() &&
          info->base_source_checksum() != (*ref)->version()) {
        std::fprintf(stderr,
                     "%s: warning: reference %s (version %s) is not the "
                     "compiled model's source (checksum %s) or its base "
                     "(\"%s\")\n",
                     kTool, ref_dir.c_str(), (*ref)->version().c_str(),
                     info->source_checksum().c_str(),
                     info->base_source_checksum().c_str());
      }
    }
    absl::StatusOr<std::vector<float>> r =
        ReferenceScores(**ref, *pairs, batch);
    if (!r.ok()) return fail(r.status());
    for (size_t i = 0; i < r->size(); ++i) {
      const double d = std::abs(scored->scores[i] - (*r)[i]);
      mean_delta += d;
      max_delta = std::max(max_delta, d);
    }
    mean_delta /= static_cast<double>(r->size());
    absl::StatusOr<double> ra = Auc(*r, labels);
    if (ra.ok()) ref_auc = *ra;
  }
  const double pairs_per_s = pairs->size() / scored->seconds;
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {
        {"model", dir},
        {"variant", variant->name},
        {"version", (*model)->version()},
        {"encoder", encoder->Describe()},
        {"act_quant", act_quant},
        {"attention", AttentionPrecisionName(attention)},
        {"rows", pairs->size()},
        {"auc", *auc},
        {"pairs_per_s", pairs_per_s},
    };
    if (have_ref) {
      j["reference"] = ref_dir;
      j["reference_auc"] = ref_auc;
      j["mean_abs_delta"] = mean_delta;
      j["max_abs_delta"] = max_delta;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("model %s variant %s (%s)\n", dir.c_str(),
                variant->name.c_str(), encoder->Describe().c_str());
    std::printf("rows %zu  AUC %.4f  pairs/s %.1f (one thread)\n",
                pairs->size(), *auc, pairs_per_s);
    if (have_ref) {
      std::printf(
          "reference %s AUC %.4f  mean |delta| %.5f  max |delta| "
          "%.5f\n",
          ref_dir.c_str(), ref_auc, mean_delta, max_delta);
    }
  }
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fastrel-eval --model DIR --data FILE.tsv [--variant NAME] "
      "[--reference DIR] [--max_rows N] [--json]");
  absl::ParseCommandLine(argc, argv);
  return fastrel::Run();
}
