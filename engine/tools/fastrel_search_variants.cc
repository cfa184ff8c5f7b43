// fastrel-search-variants: searches length configurations of a model and
// writes the chosen variants (variants.textproto) into a model directory.
//
//   fastrel-search-variants --model DIR --search-data FILE.tsv
//       [--search-variants 6] [--generations 8] [--population 12] [--seed 1]
//       [--search_rows 2000] [--max_evaluations 0] [--final_candidates 0]
//       [--timing_batches 16] [--timing_repeats 5] [--eval_threads 1]
//       [--output DIR] [--json]
//
// LAT-style evolutionary search (engine/compile/length_search.h) on a sample
// of the labeled file: objective = (AUC, CPU time relative to the full model,
// measured). Then candidates along the front are re-measured on every row of
// the file (unless the sample already was every row), the variants chosen on
// those AUCs, and their cost re-measured with interleaved repeats. Prints the
// Pareto front and the variants; writes DIR/variants.textproto (temp file +
// rename) where DIR is --output or, by default, --model. Flag names accept '-'
// or '_'.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/compile/variant_search.h"
#include "engine/kernels/cpu_features.h"
#include "engine/model/model.h"
#include "engine/model/variants_file.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, model, "", "Model directory (HF BERT or compiled).");
ABSL_FLAG(std::string, search_data, "",
          "Labeled TSV (query<TAB>document<TAB>label) to search on.");
ABSL_FLAG(int, search_variants, 6, "Variants to write, \"full\" included.");
ABSL_FLAG(int, generations, 8, "Generations after the initial population.");
ABSL_FLAG(int, population, 12, "Parents kept / children per generation.");
ABSL_FLAG(uint64_t, seed, 1, "Random seed of the search.");
ABSL_FLAG(int, search_rows, 2000,
          "Rows of --search_data (evenly spaced) used while searching; 0 = "
          "all. The chosen variants are re-measured on every row (not "
          "again when the sample is every row).");
ABSL_FLAG(int, max_evaluations, 0,
          "Cap on configurations evaluated (0 = none).");
ABSL_FLAG(double, grid_step, 0.05, "Keep-ratio grid step.");
ABSL_FLAG(double, min_ratio, 0.05, "Smallest keep ratio.");
ABSL_FLAG(int, final_candidates, 0,
          "Front points re-measured on every row before the final choice "
          "(0 = search_variants + 2).");
ABSL_FLAG(int, timing_batches, 16,
          "Batches of the search sample timed for the final relative costs.");
ABSL_FLAG(int, timing_repeats, 5,
          "Interleaved repeats of the final timing (median taken).");
ABSL_FLAG(int, eval_threads, 1,
          "Threads for the final AUC re-evaluation (timing uses one).");
ABSL_FLAG(std::string, output, "",
          "Directory for variants.textproto (default: --model).");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of text.");
ABSL_FLAG(std::string, search_weights, "",
          "Comma-separated variant weight sets (compiled models in "
          "--model/weights/NAME, e.g. written by fastrel-compile --output "
          "MODEL/weights/NAME) searched besides the primary weights, e.g. "
          "across sparsity levels; chosen variants on a set name it (with "
          "--output, the sets must exist in that directory too).");

namespace fastrel {
namespace {

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_model);
  if (dir.empty() || absl::GetFlag(FLAGS_search_data).empty()) {
    std::fprintf(stderr,
                 "fastrel-search-variants: --model and --search-data are "
                 "required\n");
    return 2;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir);
  if (!model.ok()) {
    std::fprintf(stderr, "fastrel-search-variants: %s\n",
                 model.status().ToString().c_str());
    return 1;
  }
  SearchOptions options;
  options.search_data = absl::GetFlag(FLAGS_search_data);
  options.num_variants = absl::GetFlag(FLAGS_search_variants);
  options.search_rows = absl::GetFlag(FLAGS_search_rows);
  options.eval_threads = absl::GetFlag(FLAGS_eval_threads);
  options.final_candidates = absl::GetFlag(FLAGS_final_candidates);
  options.timing_batches = absl::GetFlag(FLAGS_timing_batches);
  options.timing_repeats = absl::GetFlag(FLAGS_timing_repeats);
  options.search.generations = absl::GetFlag(FLAGS_generations);
  options.search.population = absl::GetFlag(FLAGS_population);
  options.search.seed = absl::GetFlag(FLAGS_seed);
  options.search.max_evaluations = absl::GetFlag(FLAGS_max_evaluations);
  options.search.grid_step = absl::GetFlag(FLAGS_grid_step);
  options.search.min_ratio = absl::GetFlag(FLAGS_min_ratio);
  for (absl::string_view w : absl::StrSplit(absl::GetFlag(FLAGS_search_weights),
                                            ',', absl::SkipWhitespace())) {
    options.weights.emplace_back(absl::StripAsciiWhitespace(w));
  }
  options.progress = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  // Checked before the search (minutes), not when writing its result.
  const std::string out_dir =
      absl::GetFlag(FLAGS_output).empty() ? dir : absl::GetFlag(FLAGS_output);
  std::error_code ec;
  if (!std::filesystem::is_directory(out_dir, ec)) {
    std::fprintf(stderr,
                 "fastrel-search-variants: --output %s is not an existing "
                 "directory\n",
                 out_dir.c_str());
    return 2;
  }
  absl::StatusOr<VariantSearchResult> result = SearchVariants(**model, options);
  if (!result.ok()) {
    std::fprintf(stderr, "fastrel-search-variants: %s\n",
                 result.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s =
          WriteVariantsFile(out_dir, VariantsToProto(result->variants));
      !s.ok()) {
    std::fprintf(stderr, "fastrel-search-variants: %s\n", s.ToString().c_str());
    return 1;
  }

  const double full_auc = result->variants.front().auc;
  if (json) {
    nlohmann::json front = nlohmann::json::array();
    for (const EvaluatedConfig& p : result->search.front) {
      front.push_back({{"weights", p.weights},
                       {"keep_ratios", p.length.keep_ratios},
                       {"auc", p.objective.auc},
                       {"relative_cost", p.objective.cost}});
    }
    nlohmann::json candidates = nlohmann::json::array();
    for (const EvaluatedConfig& p : result->candidates) {
      candidates.push_back({{"weights", p.weights},
                            {"keep_ratios", p.length.keep_ratios},
                            {"auc", p.objective.auc},
                            {"sample_cost", p.objective.cost}});
    }
    nlohmann::json variants = nlohmann::json::array();
    for (size_t i = 0; i < result->variants.size(); ++i) {
      const Variant& v = result->variants[i];
      variants.push_back(
          {{"name", v.name},
           {"weights", v.weights},
           {"keep_ratios", v.length.keep_ratios},
           {"auc", v.auc},
           {"auc_drop", full_auc - v.auc},
           {"relative_cost", v.relative_cost},
           {"speedup", v.relative_cost > 0 ? 1.0 / v.relative_cost : 0.0},
           {"sample_auc", result->sample_objectives[i].auc},
           {"sample_cost", result->sample_objectives[i].cost}});
    }
    nlohmann::json j = {
        {"model", dir},
        {"version", (*model)->version()},
        {"encoder", (*model)->encoder((*model)->variants()[0]).Describe()},
        {"cpu", GetCpuFeatures().ToString()},
        {"search_data", options.search_data},
        {"search_rows", result->search_rows},
        {"auc_data", result->auc_data},
        {"seed", options.search.seed},
        {"evaluated", result->search.evaluated.size()},
        {"generations_run", result->search.generations_run},
        {"front", front},
        {"candidates", candidates},
        {"variants", variants},
        {"written", out_dir + "/variants.textproto"},
    };
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model %s (version %s), encoder %s, cpu %s\n", dir.c_str(),
              (*model)->version().c_str(),
              (*model)->encoder((*model)->variants()[0]).Describe().c_str(),
              GetCpuFeatures().ToString().c_str());
  std::printf("search: %zu configurations in %d generations on %d rows of %s\n",
              result->search.evaluated.size(), result->search.generations_run,
              result->search_rows, options.search_data.c_str());
  std::printf("Pareto front on the search sample (cost = CPU time / full):\n");
  for (const EvaluatedConfig& p : result->search.front) {
    std::printf("  %-28s auc %.4f  cost %.3f  speedup %.2fx\n",
                SearchPointString(p.weights, p.length).c_str(), p.objective.auc,
                p.objective.cost,
                p.objective.cost > 0 ? 1.0 / p.objective.cost : 0.0);
  }
  std::printf("candidates re-measured on %s (sample cost):\n",
              result->auc_data.c_str());
  for (const EvaluatedConfig& p : result->candidates) {
    std::printf("  %-28s auc %.4f  cost %.3f\n",
                SearchPointString(p.weights, p.length).c_str(), p.objective.auc,
                p.objective.cost);
  }
  std::printf("variants (AUC on %s, cost re-measured):\n",
              result->auc_data.c_str());
  for (const Variant& v : result->variants) {
    std::printf("  %-6s %-28s auc %.4f (%+.4f)  cost %.3f  speedup %.2fx\n",
                v.name.c_str(), SearchPointString(v.weights, v.length).c_str(),
                v.auc, v.auc - full_auc, v.relative_cost,
                v.relative_cost > 0 ? 1.0 / v.relative_cost : 0.0);
  }
  std::printf("wrote %s/variants.textproto\n", out_dir.c_str());
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  // Accept --search-data as well as --search_data.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> argp;
  for (std::string& a : args) {
    if (a.rfind("--", 0) == 0) {
      const size_t end = std::min(a.find('='), a.size());
      for (size_t i = 2; i < end; ++i) {
        if (a[i] == '-') a[i] = '_';
      }
    }
    argp.push_back(a.data());
  }
  absl::ParseCommandLine(static_cast<int>(argp.size()), argp.data());
  return fastrel::Main();
}
