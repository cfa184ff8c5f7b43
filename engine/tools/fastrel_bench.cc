// fastrel-bench: measures Encoder::Forward on packed batches of real pairs.
//
//   fastrel-bench --model DIR [--variant full | --all_variants]
//                 [--data dev.tsv] [--batch 32] [--batches 50] [--warmup 3]
//                 [--workers 0] [--keep_ratios r1,...] [--interleave] [--json]
//                 [--cost_model [--cost_budget_ms 2000] [--cost_min_shapes 40]
//                  [--cost_shapes 40]
//                  [--cost_clock cpu|wall] [--cost_features 1+T+Q]
//                  [--cost_compare_features]]
//                 [--roofline]
//   fastrel-bench --compare DIR1,DIR2,... [--variant full] ...
//                 [--attention fp32|int8]   (compiled models; a DIR@fp32 or
//                 DIR@int8 entry overrides it for that directory, so both
//                 arithmetics of one model run in one invocation)
//   fastrel-bench --synthetic bert-base [--synthetic_format fp32,dense-int8,
//                 4x1:0.8,...] [--keep_ratios ...] ...
//
// Reads (query, document) pairs from a TSV with a header line
// (query<TAB>document[<TAB>label]), tokenizes them with the (first) model's
// tokenizer, forms packed batches of --batch pairs, and reports per run
// (a variant of a model):
//  - one worker thread pinned to one core: pairs/s, tokens/s, p50/p99 batch
//    latency (wall clock), and pairs/s on the thread's CPU time
//    (pairs_per_s_cpu: robust when the machine is shared);
//  - pairs_per_s_all_cores: one pinned worker per core (each with its own
//    Workspace) running the same batches in parallel;
//  - effective_gops: dense-equivalent operations of the batches (linear
//    layers on the tokens each layer actually runs, plus attention) per
//    second (wall, and thread CPU time); with --roofline the CPU-time figure
//    as % of this CPU's single-thread oneDNN fp32 and int8 GEMM peak (also
//    timed on thread CPU time).
// Every run of one invocation uses exactly the same batches, so --compare
// and --all_variants print throughput ratios to the first run; with
// --interleave the single-worker timings of the runs alternate batch by
// batch, so the ratios do not drift with the load of a shared machine.
// --cost_model calibrates the per-variant cost model (engine/runtime/
// cost_model.h) on the runs, then times fresh random batch shapes and
// reports the relative error of predicted vs measured batch time.
// --synthetic bert-base builds a BERT-base-shaped model (12 layers, hidden
// 768, 12 heads, FFN 3072, vocab 30522, 512 positions) with random weights in
// memory (engine/tools/synthetic_model.h), tokenizing with --synthetic_vocab
// (the demo vocab). --synthetic_format lists the weight formats of its
// encoder linears, one run each on the same batches and the same random
// weights: fp32, dense-int8 (per-channel symmetric int8), 4x1:S /
// unstructured:S (magnitude-pruned to sparsity S, then int8), 2:4, 1:4; the
// int8 ones use dynamic per-token activation quantization. Accuracy of a
// random model is meaningless; only the speed is.
// Numbers on a shared machine are noisy; compare runs within one invocation.
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/data/labeled_pairs.h"
#include "engine/kernels/cpu_features.h"
#include "engine/kernels/roofline.h"
#include "engine/model/bert_weights.h"
#include "engine/model/compiled_model.h"
#include "engine/model/model.h"
#include "engine/runtime/bert_encoder.h"
#include "engine/runtime/cost_model.h"
#include "engine/tools/synthetic_model.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, model, "", "Model directory (HF BERT or compiled).");
ABSL_FLAG(std::string, variant, "full", "Variant to run.");
ABSL_FLAG(std::string, attention, "",
          "Attention arithmetic of compiled models and of the --synthetic "
          "int8 formats: fp32 or int8 (default: the compiled-model default); "
          "DIR@fp32 / DIR@int8 in --compare overrides it per directory.");
ABSL_FLAG(bool, all_variants, false,
          "Run every variant of the model (one result each).");
ABSL_FLAG(bool, interleave, false,
          "Time the single-worker figures of all runs (--compare, "
          "--all_variants, --synthetic_format) batch by batch in turn "
          "instead of one run after the other, so a slow phase of a shared "
          "machine hits every run alike (steadier ratios; with --compare "
          "the models also evict each other's weights from cache).");
ABSL_FLAG(std::string, compare, "",
          "Comma-separated model directories to run on the same batches "
          "(instead of --model); prints throughput ratios to the first.");
ABSL_FLAG(std::string, synthetic, "",
          "Instead of --model: 'bert-base' = a BERT-base-shaped model with "
          "random weights built in memory ('tiny' = 2 layers, hidden 64, for "
          "tests).");
ABSL_FLAG(std::string, synthetic_format, "fp32",
          "Comma-separated weight formats of the --synthetic encoder linears, "
          "one run each on the same batches and weights (ratios to the first): "
          "fp32 | dense-int8 | 4x1:S | unstructured:S | 2:4 | 1:4, S = "
          "sparsity in (0, 1); e.g. fp32,dense-int8,4x1:0.8. int8 formats are "
          "magnitude-pruned, per-channel symmetric int8 weights with dynamic "
          "per-token activations.");
ABSL_FLAG(std::string, synthetic_vocab, FASTREL_DEFAULT_VOCAB,
          "vocab.txt used to tokenize the pairs for --synthetic.");
ABSL_FLAG(std::string, data, FASTREL_DEFAULT_DATA,
          "TSV of pairs with a header line: query<TAB>document[<TAB>label].");
ABSL_FLAG(int, batch, 32, "Pairs per packed batch.");
ABSL_FLAG(int, batches, 50, "Timed batches per worker.");
ABSL_FLAG(int, warmup, 3, "Untimed batches per worker first.");
ABSL_FLAG(int, workers, 0,
          "Workers for the all-cores run (0 = one per available core; -1 = "
          "skip that run).");
ABSL_FLAG(int, max_query_tokens, 32, "Query truncation (tokens).");
ABSL_FLAG(int, max_seq_len, 128,
          "Sequence length cap when tokenizing (also capped by the model).");
ABSL_FLAG(std::string, keep_ratios, "",
          "Comma-separated per-layer keep ratios overriding the variant's "
          "length config (token dropping), e.g. 0.9,0.8,0.7,0.6.");
ABSL_FLAG(bool, roofline, false,
          "Measure this CPU's single-thread dense int8 / fp32 GEMM peak and "
          "report effective GOPS against it.");
ABSL_FLAG(bool, cost_model, false,
          "Calibrate the cost model, then report predicted vs measured "
          "batch time on fresh random batch shapes.");
ABSL_FLAG(double, cost_budget_ms, 2000, "Cost model calibration budget.");
ABSL_FLAG(int, cost_shapes, 40, "Fresh batch shapes timed per variant.");
ABSL_FLAG(int, cost_reps, 2,
          "Timings per shape (calibration and fresh), minimum kept.");
ABSL_FLAG(int, cost_min_shapes, 40,
          "Calibration shapes per variant at least (a quarter held out), "
          "however long they take: with 6 variants the 2 s budget alone "
          "times ~19, too few to pin down 3 coefficients.");
ABSL_FLAG(int, cost_max_batch_tokens, 4096, "Token cap of a batch shape.");
ABSL_FLAG(int, cost_max_sequences, 64, "Sequences cap of a batch shape.");
ABSL_FLAG(int, cost_fresh_max_batch_tokens, 0,
          "Token cap of the fresh shapes (0 = --cost_max_batch_tokens); "
          "larger than the calibration's cap checks extrapolation, as the "
          "server does (it calibrates up to 1024 tokens, batches up to 4096).");
ABSL_FLAG(int, cost_fresh_max_sequences, 0,
          "Sequences cap of the fresh shapes (0 = --cost_max_sequences).");
ABSL_FLAG(std::string, cost_clock, "cpu",
          "Clock the cost model fits and is checked on: wall or cpu.");
ABSL_FLAG(std::string, cost_features, "1+T+Q",
          "Cost model terms: any of 1, T, Q, S joined by '+'.");
ABSL_FLAG(bool, cost_length_aware, true,
          "Cost model T/Q count tokens each layer runs (token dropping).");
ABSL_FLAG(bool, cost_compare_features, false,
          "Also fit other feature sets on the same calibration timings and "
          "report their error on the same fresh shapes.");
ABSL_FLAG(uint64_t, seed, 1, "Seed (random weights, ids and batch shapes).");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of text.");

namespace fastrel {
namespace {

using nlohmann::json;

// One thing to time: a variant (weights + length config) of a model.
struct Run {
  std::string label;       // model dir or "synthetic bert-base"
  std::string format;      // --synthetic only: the SyntheticFormat name
  double build_s = 0;      // --synthetic only: seconds to build the encoder
  double build_cpu_s = 0;  // the same on the process's CPU time
  std::string version;
  std::string variant;
  const Encoder* encoder = nullptr;
  LengthConfig length;
  EncoderDims dims;
};

void PinToCore(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

std::vector<int> AllowedCores() {
  cpu_set_t set;
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cores.push_back(c);
    }
  }
  if (cores.empty()) cores.push_back(0);
  return cores;
}

using Clock = std::chrono::steady_clock;

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double ProcessCpuS() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct WorkerTimes {
  std::vector<double> wall_ms, cpu_ms;
};

// Runs warmup + all batches of several (encoder, length) runs on the calling
// thread, batch by batch in turn (batch i of run 0, of run 1, ..., then
// batch i + 1), so a slow phase of a shared machine hits every run alike
// (--interleave); per run, per-batch milliseconds. Each run has its own
// Workspace.
absl::StatusOr<std::vector<WorkerTimes>> RunInterleaved(
    const std::vector<std::pair<const Encoder*, LengthConfig>>& runs,
    const std::vector<PackedBatch>& batches, int warmup) {
  std::vector<std::unique_ptr<Workspace>> ws;
  for (const auto& r : runs) ws.push_back(r.first->NewWorkspace());
  std::vector<WorkerTimes> t(runs.size());
  std::vector<float> logits;
  for (int i = -warmup; i < static_cast<int>(batches.size()); ++i) {
    const PackedBatch& b = batches[(i + batches.size()) % batches.size()];
    logits.resize(b.num_sequences());
    for (size_t r = 0; r < runs.size(); ++r) {
      const auto t0 = Clock::now();
      const double c0 = ThreadCpuMs();
      absl::Status s =
          runs[r].first->Forward(b, runs[r].second, ws[r].get(), logits);
      const double c1 = ThreadCpuMs();
      const auto t1 = Clock::now();
      if (!s.ok()) return s;
      if (i >= 0) {
        t[r].wall_ms.push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
        t[r].cpu_ms.push_back(c1 - c0);
      }
    }
  }
  return t;
}

// One run: warmup + all batches on the calling thread.
absl::StatusOr<WorkerTimes> RunWorker(const Encoder& encoder,
                                      const LengthConfig& length,
                                      const std::vector<PackedBatch>& batches,
                                      int warmup) {
  absl::StatusOr<std::vector<WorkerTimes>> t =
      RunInterleaved({{&encoder, length}}, batches, warmup);
  if (!t.ok()) return t.status();
  return std::move(t->front());
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  return v[i];
}

// Dense-equivalent operations (2 per multiply-add) of one Forward of `b`:
// per layer Q/K/V/attention-output projections and attention on the tokens
// entering the layer, the FFN on the tokens kept after it.
double ForwardOps(const EncoderDims& d, const LengthConfig& length,
                  const PackedBatch& b) {
  const double h = d.hidden_size, f = d.intermediate_size;
  double ops = 0;
  for (int s = 0; s < b.num_sequences(); ++s) {
    const int n = b.length(s);
    int k_in = n;
    for (int l = 0; l < d.num_layers; ++l) {
      const int k_out = length.KeptTokens(l, n);
      ops += 2.0 * k_in * 4 * h * h;  // Q, K, V, attention output
      ops += 2.0 * 2 * static_cast<double>(k_in) * k_in * h;  // QK^T, PV
      ops += 2.0 * k_out * 2 * h * f;                         // FFN in + out
      k_in = k_out;
    }
    ops += 2.0 * h * h + 2.0 * h;  // pooler + classifier on [CLS]
  }
  return ops;
}

absl::StatusOr<LengthConfig> ParseKeepRatios(const std::string& r,
                                             int num_layers) {
  LengthConfig length;
  for (absl::string_view part : absl::StrSplit(r, ',')) {
    double v = 0;
    if (!absl::SimpleAtod(part, &v)) {
      return absl::InvalidArgumentError("bad --keep_ratios " + r);
    }
    length.keep_ratios.push_back(v);
  }
  if (absl::Status s = length.Validate(num_layers); !s.ok()) {
    return absl::InvalidArgumentError("--keep_ratios: " +
                                      std::string(s.message()));
  }
  return length;
}

absl::StatusOr<CostFeatures> ParseFeatures(const std::string& s,
                                           bool length_aware) {
  CostFeatures f;
  f.intercept = f.tokens = f.quadratic = f.sequences = false;
  f.length_aware = length_aware;
  for (absl::string_view t : absl::StrSplit(s, '+')) {
    if (t == "1") {
      f.intercept = true;
    } else if (t == "T") {
      f.tokens = true;
    } else if (t == "Q") {
      f.quadratic = true;
    } else if (t == "S") {
      f.sequences = true;
    } else {
      return absl::InvalidArgumentError("bad --cost_features " + s +
                                        " (terms: 1, T, Q, S)");
    }
  }
  return f;
}

struct RelErr {
  double median = 0, p90 = 0, max = 0;
};
RelErr Errors(const std::vector<double>& e) {
  return {Quantile(e, 0.5), Quantile(e, 0.9), Quantile(e, 1.0)};
}

// --cost_model: calibrates on `runs`, then times fresh shapes.
absl::StatusOr<json> CostModelBench(const std::vector<Run>& runs,
                                    const std::vector<int>& length_samples,
                                    int max_length, bool text) {
  CalibrationOptions o;
  o.budget_ms = absl::GetFlag(FLAGS_cost_budget_ms);
  o.max_batch_tokens = absl::GetFlag(FLAGS_cost_max_batch_tokens);
  o.max_sequences = absl::GetFlag(FLAGS_cost_max_sequences);
  o.length_samples = length_samples;
  o.max_length = max_length;
  o.seed = absl::GetFlag(FLAGS_seed);
  o.reps_per_shape = std::max(1, absl::GetFlag(FLAGS_cost_reps));
  o.min_shapes_per_variant = absl::GetFlag(FLAGS_cost_min_shapes);
  o.max_shapes_per_variant =
      std::max(o.max_shapes_per_variant, o.min_shapes_per_variant);
  const std::string clock = absl::GetFlag(FLAGS_cost_clock);
  if (clock != "wall" && clock != "cpu") {
    return absl::InvalidArgumentError("--cost_clock must be wall or cpu");
  }
  o.clock = clock == "wall" ? CostClock::kWall : CostClock::kThreadCpu;
  absl::StatusOr<CostFeatures> features =
      ParseFeatures(absl::GetFlag(FLAGS_cost_features),
                    absl::GetFlag(FLAGS_cost_length_aware));
  if (!features.ok()) return features.status();
  o.features = *features;

  std::vector<CostTarget> targets;
  std::vector<TimedVariant> timed;
  for (const Run& r : runs) {
    targets.push_back({r.variant, r.length});
    timed.push_back({r.encoder, r.length});
  }
  const int vocab = runs[0].dims.vocab_size;
  BatchTimer timer = MakeEncoderTimer(timed, vocab, o.seed);
  // Record the calibration timings (after warm-up) for --cost_compare_features.
  const int nv = static_cast<int>(runs.size());
  int calls = 0;
  std::vector<std::vector<std::vector<int>>> cal_shapes(nv);
  std::vector<std::vector<BatchTime>> cal_times(nv);
  BatchTimer recording =
      [&](int v, std::span<const int> lengths) -> absl::StatusOr<BatchTime> {
    absl::StatusOr<BatchTime> t = timer(v, lengths);
    if (t.ok() && calls++ >= nv * o.warmup_batches) {
      const std::vector<int> shape(lengths.begin(), lengths.end());
      if (!cal_shapes[v].empty() && cal_shapes[v].back() == shape) {
        // Another rep of the same shape: keep the fastest, as Calibrate does.
        BatchTime& b = cal_times[v].back();
        b.wall_us = std::min(b.wall_us, t->wall_us);
        b.cpu_us = std::min(b.cpu_us, t->cpu_us);
      } else {
        cal_shapes[v].push_back(shape);
        cal_times[v].push_back(*t);
      }
    }
    return t;
  };
  absl::StatusOr<CostModel> model;
  std::thread([&] {
    PinToCore(AllowedCores()[0]);
    model = CostModel::Calibrate(targets, recording, o);
  }).join();
  if (!model.ok()) return model.status();

  // Fresh shapes (another seed), each timed on every variant.
  CalibrationOptions fresh = o;
  fresh.seed = o.seed + 1000003;
  if (const int t = absl::GetFlag(FLAGS_cost_fresh_max_batch_tokens); t > 0) {
    fresh.max_batch_tokens = t;
  }
  if (const int s = absl::GetFlag(FLAGS_cost_fresh_max_sequences); s > 0) {
    fresh.max_sequences = s;
  }
  const std::vector<std::vector<int>> shapes =
      SampleBatchShapes(fresh, absl::GetFlag(FLAGS_cost_shapes));
  std::vector<std::vector<BatchTime>> measured(nv);
  absl::Status status;
  std::thread([&] {
    PinToCore(AllowedCores()[0]);
    for (const auto& shape : shapes) {
      for (int v = 0; v < nv && status.ok(); ++v) {
        BatchTime best{1e300, 1e300};
        for (int r = 0; r < o.reps_per_shape && status.ok(); ++r) {
          absl::StatusOr<BatchTime> t = timer(v, shape);
          if (!t.ok()) {
            status = t.status();
          } else {
            best.wall_us = std::min(best.wall_us, t->wall_us);
            best.cpu_us = std::min(best.cpu_us, t->cpu_us);
          }
        }
        measured[v].push_back(best);
      }
    }
  }).join();
  if (!status.ok()) return status;
  auto us_of = [&](const BatchTime& t) {
    return o.clock == CostClock::kWall ? t.wall_us : t.cpu_us;
  };

  json j = json::parse(model->ReportJson());
  j["fresh_shapes"] = shapes.size();
  j["reps_per_shape"] = o.reps_per_shape;
  j["max_batch_tokens"] = o.max_batch_tokens;
  j["max_sequences"] = o.max_sequences;
  j["fresh_max_batch_tokens"] = fresh.max_batch_tokens;
  j["fresh_max_sequences"] = fresh.max_sequences;
  if (text) std::printf("%s", model->Report().c_str());
  if (text) {
    std::printf(
        "fresh shapes (%zu per variant), predicted vs measured %s time:\n",
        shapes.size(), clock.c_str());
  }
  for (int v = 0; v < nv; ++v) {
    std::vector<double> e;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const double m = us_of(measured[v][i]);
      e.push_back(std::abs(model->PredictMicros(v, shapes[i]) - m) / m);
    }
    const RelErr r = Errors(e);
    j["variants"][v]["fresh_median_rel_error"] = r.median;
    j["variants"][v]["fresh_p90_rel_error"] = r.p90;
    j["variants"][v]["fresh_max_rel_error"] = r.max;
    if (text) {
      std::printf("  %-10s median %5.1f%%  p90 %5.1f%%  max %5.1f%%\n",
                  runs[v].variant.c_str(), 100 * r.median, 100 * r.p90,
                  100 * r.max);
    }
  }

  if (absl::GetFlag(FLAGS_cost_compare_features)) {
    // Every feature set fitted on all calibration timings (no hold-out),
    // checked on the same fresh shapes.
    const std::vector<std::pair<std::string, bool>> sets = {
        {"T", true},       {"1+T", true}, {"1+T+Q", false}, {"1+T+Q", true},
        {"1+T+Q+S", true}, {"T+Q", true}, {"1+T+S", true},  {"1+T+Q+S", false}};
    json cmp = json::array();
    if (text) std::printf("feature sets (fresh-shape p90 error):\n");
    for (const auto& [name, aware] : sets) {
      absl::StatusOr<CostFeatures> f = ParseFeatures(name, aware);
      json row = {{"features", f->ToString()}};
      std::string line = absl::StrFormat("  %-28s", f->ToString());
      for (int v = 0; v < nv; ++v) {
        std::vector<double> us;
        for (const BatchTime& t : cal_times[v]) us.push_back(us_of(t));
        absl::StatusOr<VariantCost> c = CostModel::FitVariant(
            targets[v], cal_shapes[v], us, *f, o.trim_outliers);
        if (!c.ok()) return c.status();
        std::vector<double> e;
        for (size_t i = 0; i < shapes.size(); ++i) {
          const CostFeatureValues x =
              ComputeCostFeatures(runs[v].length, aware, shapes[i]);
          const double p = c->a_us + c->b_us * x.tokens +
                           c->c_us * x.quadratic + c->d_us * x.sequences;
          const double m = us_of(measured[v][i]);
          e.push_back(std::abs(p - m) / m);
        }
        const RelErr r = Errors(e);
        row[runs[v].variant] = {{"median", r.median}, {"p90", r.p90}};
        absl::StrAppendFormat(&line, " %s %5.1f%%", runs[v].variant,
                              100 * r.p90);
      }
      cmp.push_back(row);
      if (text) std::printf("%s\n", line.c_str());
    }
    j["feature_sets"] = cmp;
  }
  return j;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "fastrel-bench: %s\n", s.ToString().c_str());
  return s.code() == absl::StatusCode::kInvalidArgument ||
                 s.code() == absl::StatusCode::kNotFound
             ? 2
             : 1;
}

int Main(const std::string& command) {
  const int batch = absl::GetFlag(FLAGS_batch);
  const int num_batches = absl::GetFlag(FLAGS_batches);
  const int warmup = std::max(0, absl::GetFlag(FLAGS_warmup));
  if (batch <= 0 || num_batches <= 0) {
    std::fprintf(stderr, "fastrel-bench: --batch and --batches must be > 0\n");
    return 2;
  }
  const bool text = !absl::GetFlag(FLAGS_json);
  const std::string synthetic = absl::GetFlag(FLAGS_synthetic);
  std::vector<std::string> dirs;
  if (!absl::GetFlag(FLAGS_compare).empty()) {
    dirs = absl::StrSplit(absl::GetFlag(FLAGS_compare), ',', absl::SkipEmpty());
  } else if (!absl::GetFlag(FLAGS_model).empty()) {
    dirs.push_back(absl::GetFlag(FLAGS_model));
  }
  if (dirs.empty() == synthetic.empty()) {
    std::fprintf(stderr,
                 "fastrel-bench: give exactly one of --model, --compare, "
                 "--synthetic\n");
    return 2;
  }
  if (synthetic.empty() && absl::GetFlag(FLAGS_synthetic_format) != "fp32") {
    std::fprintf(stderr,
                 "fastrel-bench: --synthetic_format needs --synthetic\n");
    return 2;
  }
  if (!absl::GetFlag(FLAGS_keep_ratios).empty() &&
      absl::GetFlag(FLAGS_all_variants)) {
    std::fprintf(stderr,
                 "fastrel-bench: --keep_ratios overrides one variant's length "
                 "config; it cannot be combined with --all_variants\n");
    return 2;
  }
  omp_set_num_threads(1);  // before any oneDNN primitive is created

  // The runs.
  std::vector<std::unique_ptr<Model>> models;
  std::vector<std::unique_ptr<BertEncoder>> synthetic_encoders;
  std::unique_ptr<Tokenizer> synthetic_tokenizer;
  const Tokenizer* tokenizer = nullptr;
  int max_seq_len = absl::GetFlag(FLAGS_max_seq_len);
  std::vector<Run> runs;
  const std::string keep = absl::GetFlag(FLAGS_keep_ratios);
  if (!synthetic.empty()) {
    absl::StatusOr<EncoderDims> dims = SyntheticDims(synthetic);
    if (!dims.ok()) return Fail(dims.status());
    std::vector<SyntheticFormat> formats;
    for (absl::string_view spec : absl::StrSplit(
             absl::GetFlag(FLAGS_synthetic_format), ',', absl::SkipEmpty())) {
      absl::StatusOr<SyntheticFormat> f =
          ParseSyntheticFormat(std::string(spec));
      if (!f.ok()) return Fail(f.status());
      formats.push_back(*f);
    }
    if (formats.empty()) {
      return Fail(absl::InvalidArgumentError("--synthetic_format is empty"));
    }
    auto tok = Tokenizer::FromVocabFile(absl::GetFlag(FLAGS_synthetic_vocab),
                                        TokenizerOptions{});
    if (!tok.ok()) return Fail(tok.status());
    synthetic_tokenizer = std::make_unique<Tokenizer>(std::move(*tok));
    tokenizer = synthetic_tokenizer.get();
    // The int8 formats run the attention a compiled model of that format
    // would run unless --attention says otherwise.
    AttentionPrecision synthetic_attention = kCompiledDefaultAttention;
    if (const std::string a = absl::GetFlag(FLAGS_attention); !a.empty()) {
      const std::optional<AttentionPrecision> p = ParseAttentionPrecision(a);
      if (!p.has_value()) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("--attention must be fp32 or int8, not \"", a, "\"")));
      }
      synthetic_attention = *p;
    }
    for (const SyntheticFormat& f : formats) {
      // The same seed for every format: the same random fp32 weights.
      const auto t0 = Clock::now();
      const double c0 = ProcessCpuS();
      auto e = NewSyntheticEncoder(
          RandomBertParams(*dims, absl::GetFlag(FLAGS_seed)), f,
          ActQuantScheme::kDynamicSymmetric, synthetic_attention);
      if (!e.ok()) return Fail(e.status());
      Run r;
      r.build_s = std::chrono::duration<double>(Clock::now() - t0).count();
      r.build_cpu_s = ProcessCpuS() - c0;
      r.label = "synthetic " + synthetic;
      r.format = f.name;
      r.version = "random";
      r.variant = "full";
      r.encoder = e->get();
      r.dims = (*e)->dims();
      synthetic_encoders.push_back(std::move(*e));
      if (!keep.empty()) {
        auto length = ParseKeepRatios(keep, r.dims.num_layers);
        if (!length.ok()) return Fail(length.status());
        r.length = *length;
        r.variant = "keep_ratios";
      }
      max_seq_len = std::min(max_seq_len, r.dims.max_positions);
      runs.push_back(r);
    }
  } else {
    for (const std::string& entry : dirs) {
      ModelLoadOptions lo;
      lo.max_seq_len = max_seq_len;
      std::string dir = entry;
      std::string attention = absl::GetFlag(FLAGS_attention);
      if (const size_t at = entry.rfind('@'); at != std::string::npos) {
        dir = entry.substr(0, at);
        attention = entry.substr(at + 1);
      }
      if (!attention.empty()) {
        lo.attention = ParseAttentionPrecision(attention);
        if (!lo.attention.has_value()) {
          std::fprintf(stderr,
                       "fastrel-bench: attention must be fp32 or int8, not "
                       "\"%s\"\n",
                       attention.c_str());
          return 2;
        }
      }
      auto model = Model::Load(dir, lo);
      if (!model.ok()) return Fail(model.status());
      for (const std::string& w : (*model)->variant_warnings()) {
        std::fprintf(stderr, "fastrel-bench: warning: %s\n", w.c_str());
      }
      std::vector<const Variant*> variants;
      if (absl::GetFlag(FLAGS_all_variants)) {
        for (const Variant& v : (*model)->variants()) variants.push_back(&v);
      } else {
        const Variant* v = (*model)->FindVariant(absl::GetFlag(FLAGS_variant));
        if (v == nullptr) {
          std::string names;
          for (const Variant& x : (*model)->variants()) {
            names += (names.empty() ? "" : ", ") + x.name;
          }
          std::fprintf(stderr,
                       "fastrel-bench: model %s has no variant \"%s\" (it "
                       "has: %s)\n",
                       dir.c_str(), absl::GetFlag(FLAGS_variant).c_str(),
                       names.c_str());
          return 2;
        }
        variants.push_back(v);
      }
      for (const Variant* v : variants) {
        Run r;
        r.label = entry;
        r.version = (*model)->version();
        r.variant = v->name;
        r.encoder = &(*model)->encoder(*v);
        r.length = v->length;
        r.dims = DimsFromConfig((*model)->config());
        if (!keep.empty()) {
          auto length = ParseKeepRatios(keep, r.dims.num_layers);
          if (!length.ok()) return Fail(length.status());
          r.length = *length;
        }
        runs.push_back(r);
      }
      max_seq_len = std::min(max_seq_len, (*model)->max_seq_len());
      models.push_back(std::move(*model));
    }
    tokenizer = &models[0]->tokenizer();
    for (const Run& r : runs) {
      if (r.dims.vocab_size < runs[0].dims.vocab_size) {
        std::fprintf(stderr,
                     "fastrel-bench: %s has a smaller vocabulary than %s; "
                     "they cannot run the same batches\n",
                     r.label.c_str(), runs[0].label.c_str());
        return 2;
      }
    }
  }

  // The batches (tokenized once, shared by every run).
  ReadPairsOptions read_options;
  read_options.max_rows = static_cast<size_t>(batch) * num_batches;
  auto pairs = ReadLabeledPairs(absl::GetFlag(FLAGS_data), read_options);
  if (!pairs.ok()) return Fail(pairs.status());
  if (pairs->empty()) {
    std::fprintf(stderr, "fastrel-bench: %s has no pairs\n",
                 absl::GetFlag(FLAGS_data).c_str());
    return 1;
  }
  std::vector<PackedBatch> batches(num_batches);
  std::vector<int> lengths;
  size_t next = 0;
  for (PackedBatch& b : batches) {
    for (int i = 0; i < batch; ++i) {
      const LabeledPair& p = (*pairs)[next++ % pairs->size()];
      EncodedPair e =
          tokenizer->EncodePair(p.query, p.document, max_seq_len,
                                absl::GetFlag(FLAGS_max_query_tokens));
      b.Add(e.input_ids, e.token_type_ids);
      lengths.push_back(static_cast<int>(e.input_ids.size()));
    }
  }
  long tokens = 0;
  for (const PackedBatch& b : batches) tokens += b.total_tokens();
  const double avg_tokens = static_cast<double>(tokens) / (batch * num_batches);

  Roofline roofline;
  if (absl::GetFlag(FLAGS_roofline)) {
    std::thread([&] {
      PinToCore(AllowedCores()[0]);
      omp_set_num_threads(1);
      roofline = MeasureRoofline(/*thread_clock=*/true);
    }).join();
  }

  const std::vector<int> cores = AllowedCores();
  int workers = absl::GetFlag(FLAGS_workers);
  if (workers == 0) workers = static_cast<int>(cores.size());
  json results = json::array();
  absl::StatusOr<std::vector<WorkerTimes>> interleaved;
  const bool interleave = absl::GetFlag(FLAGS_interleave);
  if (interleave) {
    std::vector<std::pair<const Encoder*, LengthConfig>> pairs;
    for (const Run& run : runs) pairs.emplace_back(run.encoder, run.length);
    std::thread([&] {
      PinToCore(cores[0]);
      interleaved = RunInterleaved(pairs, batches, warmup);
    }).join();
    if (!interleaved.ok()) return Fail(interleaved.status());
  }
  for (size_t run_index = 0; run_index < runs.size(); ++run_index) {
    const Run& run = runs[run_index];
    // One worker pinned to one core.
    absl::StatusOr<WorkerTimes> single;
    if (interleave) {
      single = (*interleaved)[run_index];
    } else {
      std::thread([&] {
        PinToCore(cores[0]);
        single = RunWorker(*run.encoder, run.length, batches, warmup);
      }).join();
    }
    if (!single.ok()) return Fail(single.status());
    double total_ms = 0, cpu_ms = 0;
    for (double m : single->wall_ms) total_ms += m;
    for (double m : single->cpu_ms) cpu_ms += m;
    const double pairs_per_s = 1000.0 * batch * num_batches / total_ms;
    const double tokens_per_s = 1000.0 * tokens / total_ms;
    const double p50 = Percentile(single->wall_ms, 0.5);
    const double p99 = Percentile(single->wall_ms, 0.99);
    double ops = 0;
    for (const PackedBatch& b : batches)
      ops += ForwardOps(run.dims, run.length, b);
    const double gops = ops / (total_ms * 1e-3) / 1e9;
    // Like for like with the roofline, which is timed on thread CPU time.
    const double gops_cpu = ops / (cpu_ms * 1e-3) / 1e9;

    // One pinned worker per core, in parallel.
    double all_pairs_per_s = 0;
    if (workers > 0) {
      std::vector<std::thread> threads;
      std::vector<absl::Status> status(workers);
      std::atomic<int> ready{0};
      std::atomic<bool> go{false};
      for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
          PinToCore(cores[w % cores.size()]);
          ++ready;
          while (!go.load()) std::this_thread::yield();
          status[w] =
              RunWorker(*run.encoder, run.length, batches, warmup).status();
        });
      }
      while (ready.load() < workers) std::this_thread::yield();
      const Clock::time_point start = Clock::now();
      go = true;
      for (auto& t : threads) t.join();
      const double wall_s =
          std::chrono::duration<double>(Clock::now() - start).count();
      for (const absl::Status& s : status) {
        if (!s.ok()) return Fail(s);
      }
      // Warmup batches ran too: count them in the work done.
      all_pairs_per_s = static_cast<double>(workers) * batch *
                        (num_batches + warmup) / wall_s;
    }
    json r = {
        {"model", run.label},
        {"version", run.version},
        {"variant", run.variant},
        {"keep_ratios", run.length.keep_ratios},
        {"encoder", run.encoder->Describe()},
        {"cpu", GetCpuFeatures().ToString()},
        {"batch", batch},
        {"batches", num_batches},
        {"interleaved", interleave},
        {"avg_tokens_per_pair", avg_tokens},
        {"pairs_per_s", pairs_per_s},
        {"pairs_per_s_cpu", 1000.0 * batch * num_batches / cpu_ms},
        {"tokens_per_s", tokens_per_s},
        {"p50_ms", p50},
        {"p99_ms", p99},
        {"workers", workers},
        {"pairs_per_s_all_cores", all_pairs_per_s},
        {"effective_gops", gops},
        {"effective_gops_cpu", gops_cpu},
    };
    if (!run.format.empty()) {
      r["format"] = run.format;
      r["build_s"] = run.build_s;
      r["build_cpu_s"] = run.build_cpu_s;
    }
    if (roofline.fp32_gflops > 0) {
      r["pct_of_fp32_peak"] = 100 * gops_cpu / roofline.fp32_gflops;
      r["pct_of_int8_peak"] = 100 * gops_cpu / roofline.int8_gops;
    }
    if (!results.empty()) {
      r["speedup_vs_first"] =
          pairs_per_s / results[0]["pairs_per_s"].get<double>();
      r["speedup_vs_first_cpu"] = r["pairs_per_s_cpu"].get<double>() /
                                  results[0]["pairs_per_s_cpu"].get<double>();
    }
    if (text) {
      std::printf("model %s (version %s), variant %s, encoder %s, cpu %s\n",
                  run.label.c_str(), run.version.c_str(), run.variant.c_str(),
                  run.encoder->Describe().c_str(),
                  GetCpuFeatures().ToString().c_str());
      if (!run.format.empty()) {
        std::printf("format %s, built in %.1f s (%.1f s CPU)\n",
                    run.format.c_str(), run.build_s, run.build_cpu_s);
      }
      std::printf("%d batches x %d pairs, %.1f tokens/pair\n", num_batches,
                  batch, avg_tokens);
      std::printf(
          "1 core:  %.1f pairs/s (%.1f on thread CPU time), %.0f tokens/s, "
          "batch p50 %.2f ms, p99 %.2f ms, %.1f effective GOPS (%.1f on CPU "
          "time)",
          pairs_per_s, r["pairs_per_s_cpu"].get<double>(), tokens_per_s, p50,
          p99, gops, gops_cpu);
      if (roofline.fp32_gflops > 0) {
        std::printf(" = %.1f%% of fp32 peak, %.1f%% of int8 peak",
                    r["pct_of_fp32_peak"].get<double>(),
                    r["pct_of_int8_peak"].get<double>());
      }
      std::printf("\n");
      if (workers > 0) {
        std::printf("%d workers: %.1f pairs/s\n", workers, all_pairs_per_s);
      }
      if (r.contains("speedup_vs_first")) {
        std::printf("x%.2f vs the first run (x%.2f on CPU time)\n",
                    r["speedup_vs_first"].get<double>(),
                    r["speedup_vs_first_cpu"].get<double>());
      }
    }
    results.push_back(r);
  }

  json out = results.size() == 1 ? results[0] : json{{"results", results}};
  out["command"] = command;
  if (roofline.fp32_gflops > 0) {
    out["roofline"] = {{"gemm_mnk", roofline.gemm_mnk},
                       {"clock", "thread_cputime, best of runs"},
                       {"int8_gops", roofline.int8_gops},
                       {"int8_impl", roofline.int8_impl},
                       {"fp32_gflops", roofline.fp32_gflops},
                       {"fp32_impl", roofline.fp32_impl}};
    if (text) {
      std::printf(
          "roofline (1 thread, %d^3 oneDNN matmul): int8 %.1f GOPS (%s), fp32 "
          "%.1f GFLOPS (%s)\n",
          roofline.gemm_mnk, roofline.int8_gops, roofline.int8_impl.c_str(),
          roofline.fp32_gflops, roofline.fp32_impl.c_str());
    }
  }
  if (absl::GetFlag(FLAGS_cost_model)) {
    absl::StatusOr<json> cm = CostModelBench(runs, lengths, max_seq_len, text);
    if (!cm.ok()) return Fail(cm.status());
    out["cost_model"] = *cm;
  }
  if (!text) std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    command += (i ? " " : "") + std::string(argv[i]);
  }
  absl::ParseCommandLine(argc, argv);
  return fastrel::Main(command);
}
