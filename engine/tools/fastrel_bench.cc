// fastrel-bench: measures Encoder::Forward on packed batches of real pairs.
//
//   fastrel-bench --model DIR [--variant full] [--data dev.tsv] [--batch 32]
//                 [--batches 50] [--warmup 3] [--workers 0] [--json]
//
// Reads (query, document) pairs from a TSV with a header line
// (query<TAB>document[<TAB>label]), tokenizes them with the model's
// tokenizer, forms packed batches of --batch pairs, and reports
//  - one worker thread pinned to one core: pairs/s, tokens/s, p50/p99 batch
//    latency;
//  - pairs_per_s_all_cores: one pinned worker per core (each with its own
//    Workspace) running the same batches in parallel.
// Numbers on a shared machine are noisy; compare variants within one run.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/data/labeled_pairs.h"
#include "engine/kernels/cpu_features.h"
#include "engine/model/model.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, model, "", "Model directory (HF BERT or compiled).");
ABSL_FLAG(std::string, variant, "full", "Variant to run.");
ABSL_FLAG(std::string, data, FASTREL_DEFAULT_DATA,
          "TSV of pairs with a header line: query<TAB>document[<TAB>label].");
ABSL_FLAG(int, batch, 32, "Pairs per packed batch.");
ABSL_FLAG(int, batches, 50, "Timed batches per worker.");
ABSL_FLAG(int, warmup, 3, "Untimed batches per worker first.");
ABSL_FLAG(int, workers, 0,
          "Workers for the all-cores run (0 = one per available core; -1 = "
          "skip that run).");
ABSL_FLAG(int, max_query_tokens, 32, "Query truncation (tokens).");
ABSL_FLAG(std::string, keep_ratios, "",
          "Comma-separated per-layer keep ratios overriding the variant's "
          "length config (token dropping), e.g. 0.9,0.8,0.7,0.6.");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of text.");

namespace fastrel {
namespace {

// Packs `count` batches of `batch` pairs (cycling through `pairs`).
std::vector<PackedBatch> MakeBatches(const Model& model,
                                     const std::vector<LabeledPair>& pairs,
                                     int batch, int count) {
  std::vector<PackedBatch> out(count);
  size_t next = 0;
  for (PackedBatch& b : out) {
    for (int i = 0; i < batch; ++i) {
      const LabeledPair& p = pairs[next++ % pairs.size()];
      EncodedPair e =
          model.tokenizer().EncodePair(p.query, p.document, model.max_seq_len(),
                                       absl::GetFlag(FLAGS_max_query_tokens));
      b.Add(e.input_ids, e.token_type_ids);
    }
  }
  return out;
}

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

// Runs warmup + all batches on the calling thread; per-batch milliseconds.
absl::StatusOr<std::vector<double>> RunWorker(
    const Encoder& encoder, const LengthConfig& length,
    const std::vector<PackedBatch>& batches, int warmup) {
  std::unique_ptr<Workspace> ws = encoder.NewWorkspace();
  std::vector<float> logits;
  std::vector<double> ms;
  for (int i = -warmup; i < static_cast<int>(batches.size()); ++i) {
    const PackedBatch& b = batches[(i + batches.size()) % batches.size()];
    logits.resize(b.num_sequences());
    const auto t0 = Clock::now();
    absl::Status s = encoder.Forward(b, length, ws.get(), logits);
    const auto t1 = Clock::now();
    if (!s.ok()) return s;
    if (i >= 0) {
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }
  return ms;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  return v[i];
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_model);
  if (dir.empty()) {
    std::fprintf(stderr, "fastrel-bench: --model is required\n");
    return 2;
  }
  const int batch = absl::GetFlag(FLAGS_batch);
  const int num_batches = absl::GetFlag(FLAGS_batches);
  const int warmup = std::max(0, absl::GetFlag(FLAGS_warmup));
  if (batch <= 0 || num_batches <= 0) {
    std::fprintf(stderr, "fastrel-bench: --batch and --batches must be > 0\n");
    return 2;
  }
  auto model = Model::Load(dir);
  if (!model.ok()) {
    std::fprintf(stderr, "fastrel-bench: %s\n",
                 model.status().ToString().c_str());
    return 1;
  }
  const Variant* variant = (*model)->FindVariant(absl::GetFlag(FLAGS_variant));
  if (variant == nullptr) {
    std::fprintf(stderr, "fastrel-bench: model has no variant %s\n",
                 absl::GetFlag(FLAGS_variant).c_str());
    return 2;
  }
  const Encoder& encoder = (*model)->encoder(*variant);
  LengthConfig length = variant->length;
  if (const std::string r = absl::GetFlag(FLAGS_keep_ratios); !r.empty()) {
    length.keep_ratios.clear();
    for (absl::string_view part : absl::StrSplit(r, ',')) {
      double v = 0;
      if (!absl::SimpleAtod(part, &v)) {
        std::fprintf(stderr, "fastrel-bench: bad --keep_ratios %s\n",
                     r.c_str());
        return 2;
      }
      length.keep_ratios.push_back(v);
    }
    if (absl::Status s = length.Validate((*model)->config().num_hidden_layers);
        !s.ok()) {
      std::fprintf(stderr, "fastrel-bench: --keep_ratios: %s\n",
                   s.ToString().c_str());
      return 2;
    }
  }
  ReadPairsOptions read_options;
  read_options.max_rows = static_cast<size_t>(batch) * num_batches;
  auto pairs = ReadLabeledPairs(absl::GetFlag(FLAGS_data), read_options);
  if (!pairs.ok()) {
    std::fprintf(stderr, "fastrel-bench: %s\n",
                 pairs.status().ToString().c_str());
    return 1;
  }
  if (pairs->empty()) {
    std::fprintf(stderr, "fastrel-bench: %s has no pairs\n",
                 absl::GetFlag(FLAGS_data).c_str());
    return 1;
  }
  const std::vector<PackedBatch> batches =
      MakeBatches(**model, *pairs, batch, num_batches);
  long tokens = 0;
  for (const PackedBatch& b : batches) tokens += b.total_tokens();

  // One worker pinned to one core.
  const std::vector<int> cores = AllowedCores();
  absl::StatusOr<std::vector<double>> single;
  std::thread([&] {
    PinToCore(cores[0]);
    single = RunWorker(encoder, length, batches, warmup);
  }).join();
  if (!single.ok()) {
    std::fprintf(stderr, "fastrel-bench: %s\n",
                 single.status().ToString().c_str());
    return 1;
  }
  double total_ms = 0;
  for (double m : *single) total_ms += m;
  const double pairs_per_s = 1000.0 * batch * num_batches / total_ms;
  const double tokens_per_s = 1000.0 * tokens / total_ms;
  const double p50 = Percentile(*single, 0.5), p99 = Percentile(*single, 0.99);

  // One pinned worker per core, in parallel.
  int workers = absl::GetFlag(FLAGS_workers);
  if (workers == 0) workers = static_cast<int>(cores.size());
  double all_pairs_per_s = 0;
  if (workers > 0) {
    std::vector<std::thread> threads;
    std::vector<absl::Status> status(workers);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    Clock::time_point start;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        PinToCore(cores[w % cores.size()]);
        ++ready;
        while (!go.load()) std::this_thread::yield();
        auto r = RunWorker(encoder, length, batches, warmup);
        status[w] = r.status();
      });
    }
    while (ready.load() < workers) std::this_thread::yield();
    start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    const double wall_s =
        std::chrono::duration<double>(Clock::now() - start).count();
    for (const absl::Status& s : status) {
      if (!s.ok()) {
        std::fprintf(stderr, "fastrel-bench: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    // Warmup batches ran too: count them in the work done.
    all_pairs_per_s =
        static_cast<double>(workers) * batch * (num_batches + warmup) / wall_s;
  }

  const double avg_tokens = static_cast<double>(tokens) / (batch * num_batches);
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {
        {"model", dir},
        {"version", (*model)->version()},
        {"variant", variant->name},
        {"keep_ratios", length.keep_ratios},
        {"encoder", encoder.Describe()},
        {"cpu", GetCpuFeatures().ToString()},
        {"batch", batch},
        {"batches", num_batches},
        {"avg_tokens_per_pair", avg_tokens},
        {"pairs_per_s", pairs_per_s},
        {"tokens_per_s", tokens_per_s},
        {"p50_ms", p50},
        {"p99_ms", p99},
        {"workers", workers},
        {"pairs_per_s_all_cores", all_pairs_per_s},
    };
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("model %s (version %s), variant %s, encoder %s, cpu %s\n",
                dir.c_str(), (*model)->version().c_str(), variant->name.c_str(),
                encoder.Describe().c_str(),
                GetCpuFeatures().ToString().c_str());
    std::printf("%d batches x %d pairs, %.1f tokens/pair\n", num_batches, batch,
                avg_tokens);
    std::printf(
        "1 core:  %.1f pairs/s, %.0f tokens/s, batch p50 %.2f ms, p99 %.2f "
        "ms\n",
        pairs_per_s, tokens_per_s, p50, p99);
    if (workers > 0) {
      std::printf("%d workers: %.1f pairs/s\n", workers, all_pairs_per_s);
    }
  }
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return fastrel::Main();
}
