// Variant search on a real model: runs the length-configuration search
// (length_search.h) with AUC on a labeled set and measured CPU cost as the
// objective, picks variants along the Pareto front, re-measures them and
// the caller writes them with engine/model/variants_file.h
// (VariantsToProto + WriteVariantsFile). Shared by
// fastrel-search-variants and fastrel-compile --search-variants.
#ifndef FASTREL_ENGINE_COMPILE_VARIANT_SEARCH_H_
#define FASTREL_ENGINE_COMPILE_VARIANT_SEARCH_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/compile/length_search.h"
#include "engine/model/model.h"
#include "fastrel/v1/model.pb.h"

namespace fastrel {

struct SearchOptions {
  // Labeled TSV (query, document, label) with a header line. Required.
  std::string search_data;
  // Variants to write, "full" included (>= 1).
  int num_variants = 6;
  // Rows used while searching, spread evenly over the file (0 = all). The
  // chosen variants' AUC is then re-measured on every row of the file (with
  // 0, or a value >= the file's rows, the sample's AUCs are those: nothing is
  // scored twice).
  int search_rows = 2000;
  // Evolutionary search settings; num_layers is taken from the model.
  LengthSearchOptions search;
  // Front selection; count is taken from num_variants. auc_margin defaults
  // to 0.002 because the search sample's AUC is noisy.
  FrontSelectionOptions selection = {.auc_margin = 0.002};
  // Pairs per packed batch and query truncation (as fastrel-eval/bench).
  int batch_size = 32;
  int max_query_tokens = 32;
  // Final cost measurement: the first `timing_batches` batches of the search
  // sample, each chosen variant timed `timing_repeats` times, interleaved
  // round-robin with the others; median thread CPU time over the repeats.
  int timing_batches = 16;
  int timing_repeats = 5;
  // Candidates re-measured on every row of search_data before the final
  // choice (0 = num_variants + 2): the selection is first made for this many
  // on the sample, then redone for num_variants on the whole file's AUC, so
  // the sample's noise cannot push a variant past its AUC threshold.
  int final_candidates = 0;
  // Threads for the AUC re-evaluation on the full file (timing always runs on
  // one thread). Scores do not depend on it.
  int eval_threads = 1;
  // Variant weight sets (names under <model>/weights/, see variants_file.h)
  // searched besides the primary weights: each gets its own length search
  // (same options and seed); costs stay relative to the primary full model,
  // the points of all sets form one front, and a chosen variant keeps its
  // set's name (a set's full length is a candidate too). Empty = the primary
  // weights only.
  std::vector<std::string> weights;
  // Optional progress lines (one per evaluation and stage).
  std::function<void(std::string_view)> progress;
};

struct VariantSearchResult {
  // The search on the sample: every configuration evaluated and the Pareto
  // front. Their objective is (AUC on the sample, cost relative to the full
  // model = median over batches of the per-batch CPU-time ratio).
  LengthSearchResult search;
  int search_rows = 0;
  // Chosen variants, most accurate first; [0] is "full" (empty length
  // config). auc = AUC on every row of search_data (auc_data names it);
  // relative_cost = measured CPU time relative to "full" (timing_batches,
  // median of timing_repeats); variants measured at >= 1 are dropped.
  std::vector<Variant> variants;
  // The same selection's AUC and cost on the search sample.
  std::vector<LengthObjective> sample_objectives;
  // Every candidate re-measured on the whole file: objective = (AUC on every
  // row, cost on the sample); [0] is the full model.
  std::vector<EvaluatedConfig> candidates;
  // "FILE (ROWS rows)", the data the AUCs were measured on.
  std::string auc_data;
  int data_rows = 0;
};

// Runs the whole search on the primary weights of `model` (its variants()[0]
// encoder) and on options.weights (loaded with Model::LoadWeightSet; a set
// that does not load is returned as its error), on the calling thread (plus
// eval_threads - 1 helpers for the final AUC). Deterministic choice of
// configurations for a given seed up to the noise of the measured costs.
// INVALID_ARGUMENT for bad options or data without both labels; errors reading
// the data or running the encoder are returned as is.
absl::StatusOr<VariantSearchResult> SearchVariants(
    const Model& model, const SearchOptions& options);

// A search point as the logs and tools print it: "[0.90,0.70,...]" (or
// "full" for an empty config) on the primary weights, "NAME:[...]" on the
// weight set NAME.
std::string SearchPointString(const std::string& weights,
                              const LengthConfig& length);

// For fastrel-compile --search-variants: loads the model in `dir` (HF or
// compiled; Model::Load), runs SearchVariants on it and writes the chosen
// variants to `dir`/variants.textproto (atomically, replacing any previous
// list). Errors from loading, searching or writing are returned as is.
absl::StatusOr<VariantSearchResult> SearchAndWriteVariants(
    const std::string& dir, const SearchOptions& options);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_COMPILE_VARIANT_SEARCH_H_
