#include "engine/compile/variant_search.h"

#include <time.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/data/labeled_pairs.h"
#include "engine/data/metrics.h"
#include "engine/model/variants_file.h"

namespace fastrel {
namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Labeled pairs tokenized once into packed batches.
struct LabeledBatches {
  std::vector<PackedBatch> batches;
  std::vector<int> labels;  // one per sequence, in batch order
};

LabeledBatches MakeBatches(const Model& model,
                           const std::vector<LabeledPair>& pairs,
                           const std::vector<size_t>& rows, int batch_size,
                           int max_query_tokens) {
  LabeledBatches out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i % batch_size == 0) out.batches.emplace_back();
    const LabeledPair& p = pairs[rows[i]];
    EncodedPair e = model.tokenizer().EncodePair(
        p.query, p.document, model.max_seq_len(), max_query_tokens);
    out.batches.back().Add(e.input_ids, e.token_type_ids);
    out.labels.push_back(p.label);
  }
  return out;
}

struct ScoredRun {
  std::vector<float> scores;
  std::vector<double> batch_cpu_s;  // per batch, thread CPU time of Forward
};

// Scores batches [begin, end) on the calling thread.
absl::Status ScoreRange(const Encoder& encoder, const LengthConfig& length,
                        const std::vector<PackedBatch>& batches, size_t begin,
                        size_t end, const std::vector<size_t>& first_row,
                        ScoredRun& run) {
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  for (size_t b = begin; b < end; ++b) {
    const PackedBatch& batch = batches[b];
    std::span<float> out(run.scores.data() + first_row[b],
                         static_cast<size_t>(batch.num_sequences()));
    const double t0 = ThreadCpuSeconds();
    absl::Status s = encoder.Forward(batch, length, ws.get(), out);
    run.batch_cpu_s[b] = ThreadCpuSeconds() - t0;
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Scores every batch with `threads` threads (contiguous shares).
absl::StatusOr<ScoredRun> Score(const Encoder& encoder,
                                const LengthConfig& length,
                                const LabeledBatches& data, int threads) {
  ScoredRun run;
  run.scores.assign(data.labels.size(), 0.0f);
  run.batch_cpu_s.assign(data.batches.size(), 0.0);
  std::vector<size_t> first_row(data.batches.size() + 1, 0);
  for (size_t b = 0; b < data.batches.size(); ++b) {
    first_row[b + 1] = first_row[b] + data.batches[b].num_sequences();
  }
  const size_t n = data.batches.size();
  threads = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  if (threads == 1) {
    absl::Status s =
        ScoreRange(encoder, length, data.batches, 0, n, first_row, run);
    if (!s.ok()) return s;
    return run;
  }
  std::vector<absl::Status> status(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      status[t] = ScoreRange(encoder, length, data.batches, n * t / threads,
                             n * (t + 1) / threads, first_row, run);
    });
  }
  for (std::thread& th : pool) th.join();
  for (const absl::Status& s : status) {
    if (!s.ok()) return s;
  }
  return run;
}

absl::Status CheckOptions(const SearchOptions& o) {
  if (o.search_data.empty()) {
    return absl::InvalidArgumentError(
        "search_data (a labeled TSV) is required");
  }
  if (o.num_variants < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_variants must be >= 1 (got ", o.num_variants, ")"));
  }
  if (o.search_rows < 0 || o.batch_size < 1 || o.max_query_tokens < 1 ||
      o.timing_batches < 1 || o.timing_repeats < 1 || o.eval_threads < 1) {
    return absl::InvalidArgumentError(
        "search_rows must be >= 0; batch_size, max_query_tokens, "
        "timing_batches, timing_repeats and eval_threads >= 1");
  }
  return absl::OkStatus();
}

}  // namespace

std::string SearchPointString(const std::string& weights,
                              const LengthConfig& length) {
  std::string ratios = "full";
  if (!length.keep_ratios.empty()) {
    ratios = absl::StrCat("[",
                          absl::StrJoin(length.keep_ratios, ",",
                                        [](std::string* out, double r) {
                                          absl::StrAppend(
                                              out, absl::StrFormat("%.2f", r));
                                        }),
                          "]");
  }
  return weights.empty() ? ratios : absl::StrCat(weights, ":", ratios);
}

absl::StatusOr<VariantSearchResult> SearchVariants(
    const Model& model, const SearchOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  auto log = [&](std::string_view line) {
    if (options.progress) options.progress(line);
  };
  ReadPairsOptions read;
  read.require_labels = true;
  absl::StatusOr<std::vector<LabeledPair>> pairs =
      ReadLabeledPairs(options.search_data, read);
  if (!pairs.ok()) return pairs.status();
  const size_t total = pairs->size();
  size_t positives = 0;
  for (const LabeledPair& p : *pairs) positives += p.label == 1;
  if (positives == 0 || positives == total) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.search_data, ": needs both labels 0 and 1 to measure AUC"));
  }

  // The search sample: rows spread evenly over the file.
  const size_t sample_rows =
      options.search_rows == 0
          ? total
          : std::min(total, static_cast<size_t>(options.search_rows));
  std::vector<size_t> sample(sample_rows);
  for (size_t i = 0; i < sample_rows; ++i) sample[i] = i * total / sample_rows;
  const LabeledBatches search_set = MakeBatches(
      model, *pairs, sample, options.batch_size, options.max_query_tokens);

  const Variant& primary = model.variants().front();
  // The weight sets searched: the primary weights first, then
  // options.weights in order.
  std::vector<std::string> set_names = {primary.weights};
  std::vector<const Encoder*> set_encoders = {&model.encoder(primary)};
  std::vector<std::unique_ptr<Encoder>> owned_sets;
  for (const std::string& w : options.weights) {
    if (w.empty() ||
        std::find(set_names.begin(), set_names.end(), w) != set_names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights: \"", w,
          "\" is empty or given twice (the primary weights are always "
          "searched)"));
    }
    absl::StatusOr<std::unique_ptr<Encoder>> enc = model.LoadWeightSet(w);
    if (!enc.ok()) return enc.status();
    set_names.push_back(w);
    set_encoders.push_back(enc->get());
    owned_sets.push_back(std::move(*enc));
  }
  auto encoder_of = [&](const std::string& w) -> const Encoder& {
    const size_t k =
        std::find(set_names.begin(), set_names.end(), w) - set_names.begin();
    return *set_encoders[k < set_names.size() ? k : 0];
  };
  const Encoder& encoder = *set_encoders[0];
  VariantSearchResult result;
  result.search_rows = static_cast<int>(sample_rows);
  result.data_rows = static_cast<int>(total);
  result.auc_data = absl::StrCat(
      std::filesystem::path(options.search_data).filename().string(), " (",
      total, " rows)");

  // Warm up caches and primitives so the full model's reference times are
  // not inflated by first-call costs.
  {
    LabeledBatches warm;
    for (size_t b = 0; b < std::min<size_t>(2, search_set.batches.size());
         ++b) {
      warm.batches.push_back(search_set.batches[b]);
      for (int i = 0; i < search_set.batches[b].num_sequences(); ++i) {
        warm.labels.push_back(0);
      }
    }
    absl::StatusOr<ScoredRun> w = Score(encoder, LengthConfig{}, warm, 1);
    if (!w.ok()) return w.status();
  }

  // Objective on the sample. The first configuration is the full model; its
  // per-batch times are the reference for every other cost.
  std::vector<double> reference_cpu;
  int evaluations = 0;
  size_t current_set = 0;  // index into set_names / set_encoders
  LengthEvaluator evaluate =
      [&](const LengthConfig& config) -> absl::StatusOr<LengthObjective> {
    LengthConfig run_config = config;
    if (config.is_full()) run_config.keep_ratios.clear();
    absl::StatusOr<ScoredRun> run =
        Score(*set_encoders[current_set], run_config, search_set, 1);
    if (!run.ok()) return run.status();
    absl::StatusOr<double> auc = Auc(run->scores, search_set.labels);
    if (!auc.ok()) return auc.status();
    if (reference_cpu.empty()) reference_cpu = run->batch_cpu_s;
    std::vector<double> ratios;
    for (size_t b = 0; b < reference_cpu.size(); ++b) {
      if (reference_cpu[b] > 0) {
        ratios.push_back(run->batch_cpu_s[b] / reference_cpu[b]);
      }
    }
    const LengthObjective obj{*auc, ratios.empty() ? 1.0 : Median(ratios)};
    ++evaluations;
    log(absl::StrFormat("eval %3d %-28s auc %.4f cost %.3f", evaluations,
                        SearchPointString(set_names[current_set], config),
                        obj.auc, obj.cost));
    return obj;
  };
  LengthSearchOptions search_options = options.search;
  search_options.num_layers = model.config().num_hidden_layers;
  // One search per weight set (costs relative to the primary full model,
  // which the first search evaluates first); the sets' points are merged
  // into one front.
  for (current_set = 0; current_set < set_names.size(); ++current_set) {
    absl::StatusOr<LengthSearchResult> search =
        SearchLengthConfigs(search_options, evaluate);
    if (!search.ok()) return search.status();
    for (EvaluatedConfig& p : search->evaluated) {
      p.weights = set_names[current_set];
    }
    if (current_set == 0) {
      result.search = std::move(*search);
    } else {
      result.search.evaluated.insert(result.search.evaluated.end(),
                                     search->evaluated.begin(),
                                     search->evaluated.end());
      result.search.generations_run += search->generations_run;
    }
  }
  result.search.front = ParetoFront(result.search.evaluated);

  // Candidates along the front (costs relative to the full model = 1.0).
  const int final_candidates =
      std::max(options.num_variants, options.final_candidates > 0
                                         ? options.final_candidates
                                         : options.num_variants + 2);
  FrontSelectionOptions selection = options.selection;
  selection.count = final_candidates;
  EvaluatedConfig full = result.search.evaluated.front();
  full.objective.cost = 1.0;
  const std::vector<EvaluatedConfig> candidates =
      SelectAlongFront(result.search.front, full, selection);

  // Re-measure the candidates' AUC on every row, then choose num_variants on
  // those AUCs (no sample margin any more) and the sample costs. When the
  // sample already is every row (same rows, same batches), its AUCs are those
  // and nothing is scored again.
  const bool sample_is_all = sample_rows == total;
  LabeledBatches all_set;
  if (!sample_is_all) {
    std::vector<size_t> all(total);
    for (size_t i = 0; i < total; ++i) all[i] = i;
    all_set = MakeBatches(model, *pairs, all, options.batch_size,
                          options.max_query_tokens);
  }
  std::vector<LengthObjective> sample_objectives;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double auc = candidates[i].objective.auc;
    if (sample_is_all) {
      log(absl::StrFormat(
          "candidate %-28s auc %.4f on %s (the sample)",
          SearchPointString(candidates[i].weights, candidates[i].length), auc,
          result.auc_data));
    } else {
      LengthConfig length = candidates[i].length;
      if (length.is_full()) length.keep_ratios.clear();  // [0] and sets' full
      absl::StatusOr<ScoredRun> run =
          Score(encoder_of(candidates[i].weights), length, all_set,
                options.eval_threads);
      if (!run.ok()) return run.status();
      absl::StatusOr<double> all_auc = Auc(run->scores, all_set.labels);
      if (!all_auc.ok()) return all_auc.status();
      auc = *all_auc;
      log(absl::StrFormat(
          "recheck %-28s auc %.4f on %s (sample %.4f)",
          SearchPointString(candidates[i].weights, candidates[i].length), auc,
          result.auc_data, candidates[i].objective.auc));
    }
    result.candidates.push_back({candidates[i].length,
                                 {auc, candidates[i].objective.cost},
                                 candidates[i].weights});
    sample_objectives.push_back(candidates[i].objective);
  }
  FrontSelectionOptions final_selection = options.selection;
  final_selection.count = options.num_variants;
  final_selection.auc_margin = 0;
  const std::vector<EvaluatedConfig> rechecked_front = ParetoFront(
      std::span<const EvaluatedConfig>(result.candidates).subspan(1));
  const std::vector<EvaluatedConfig> chosen = SelectAlongFront(
      rechecked_front, result.candidates.front(), final_selection);
  for (size_t i = 0; i < chosen.size(); ++i) {
    Variant v;
    v.name = i == 0 ? "full" : absl::StrCat("lat-", i);
    v.weights = chosen[i].weights;
    if (i > 0 && !chosen[i].length.is_full()) v.length = chosen[i].length;
    v.auc = chosen[i].objective.auc;
    v.auc_data = result.auc_data;
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (candidates[c].length.keep_ratios == chosen[i].length.keep_ratios &&
          candidates[c].weights == chosen[i].weights) {
        result.sample_objectives.push_back(sample_objectives[c]);
        break;
      }
    }
    result.variants.push_back(std::move(v));
  }
  LabeledBatches timing;
  const size_t timing_batches =
      std::min<size_t>(options.timing_batches, search_set.batches.size());
  for (size_t b = 0; b < timing_batches; ++b) {
    timing.batches.push_back(search_set.batches[b]);
    for (int i = 0; i < search_set.batches[b].num_sequences(); ++i) {
      timing.labels.push_back(0);
    }
  }
  std::vector<std::vector<double>> cpu(result.variants.size());
  for (int rep = 0; rep < options.timing_repeats; ++rep) {
    for (size_t i = 0; i < result.variants.size(); ++i) {
      absl::StatusOr<ScoredRun> run =
          Score(encoder_of(result.variants[i].weights),
                result.variants[i].length, timing, 1);
      if (!run.ok()) return run.status();
      double sum = 0;
      for (double t : run->batch_cpu_s) sum += t;
      cpu[i].push_back(sum);
    }
  }
  const double full_cpu = Median(cpu[0]);
  for (size_t i = 0; i < result.variants.size(); ++i) {
    result.variants[i].relative_cost =
        full_cpu > 0 ? Median(cpu[i]) / full_cpu : 1.0;
  }
  // A variant that measured no cheaper than full is useless: drop it and
  // renumber the rest.
  std::vector<Variant> kept = {result.variants[0]};
  std::vector<LengthObjective> kept_sample = {result.sample_objectives[0]};
  for (size_t i = 1; i < result.variants.size(); ++i) {
    if (result.variants[i].relative_cost >= 1.0) {
      log(absl::StrFormat("dropped %s: measured cost %.3f >= full",
                          SearchPointString(result.variants[i].weights,
                                            result.variants[i].length),
                          result.variants[i].relative_cost));
      continue;
    }
    kept.push_back(std::move(result.variants[i]));
    kept.back().name = absl::StrCat("lat-", kept.size() - 1);
    kept_sample.push_back(result.sample_objectives[i]);
  }
  result.variants = std::move(kept);
  result.sample_objectives = std::move(kept_sample);
  return result;
}

absl::StatusOr<VariantSearchResult> SearchAndWriteVariants(
    const std::string& dir, const SearchOptions& options) {
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir);
  if (!model.ok()) return model.status();
  absl::StatusOr<VariantSearchResult> result = SearchVariants(**model, options);
  if (!result.ok()) return result.status();
  if (absl::Status s =
          WriteVariantsFile(dir, VariantsToProto(result->variants));
      !s.ok()) {
    return s;
  }
  return result;
}

}  // namespace fastrel
