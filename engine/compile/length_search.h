// Evolutionary search over length configurations (Length-Adaptive
// Transformer, Kim & Cho 2021): monotone per-layer keep ratios on a grid,
// mutation and crossover, parents kept to the Pareto front of (accuracy up,
// cost down). The objective is a callback, so the search runs on a real model
// (variant_search.h) or on a synthetic function (tests).
#ifndef FASTREL_ENGINE_COMPILE_LENGTH_SEARCH_H_
#define FASTREL_ENGINE_COMPILE_LENGTH_SEARCH_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/runtime/length_config.h"

namespace fastrel {

// What a length configuration achieves: accuracy (higher is better, e.g. AUC)
// and cost (lower is better, e.g. time relative to the full model).
struct LengthObjective {
  double auc = 0;
  double cost = 0;
};

struct EvaluatedConfig {
  // Ratios on the search grid; for the full model every ratio is 1.0.
  LengthConfig length;
  LengthObjective objective;
  // The weight set the objective was measured on ("" = the model's primary
  // weights). The length search leaves it ""; a caller searching several
  // sets (variant_search.h) tags its points before merging them.
  std::string weights = "";
};

// Evaluates one configuration; a non-OK status aborts the search with it.
using LengthEvaluator =
    std::function<absl::StatusOr<LengthObjective>(const LengthConfig&)>;

struct LengthSearchOptions {
  // Number of encoder layers (> 0): one keep ratio per layer.
  int num_layers = 0;
  // Ratios are 1 - k * grid_step for k = 0, 1, ... down to min_ratio.
  double grid_step = 0.05;
  // Smallest ratio allowed (in (0, 1]). 0.05 rather than 0.1: the last
  // layers' ratios cost little accuracy and buy real time (layer L-2's
  // drop trims the [CLS]-only last layer's keys and values), and the
  // bundled lat-2 / lat-4 variants keep 0.1 / 0.05 there
  // (bench/results/variants4-2026-11-21.md).
  double min_ratio = 0.05;
  // Parents kept per generation (>= 2); also the size of the initial
  // population and the number of children per generation.
  int population = 12;
  // Generations after the initial population (>= 0).
  int generations = 8;
  // Fraction of children made by mutation (the rest by crossover).
  double mutation_fraction = 0.5;
  // Cap on the number of distinct configurations evaluated (0 = none).
  int max_evaluations = 0;
  // Seed of the random generator; the search is deterministic given the
  // options and a deterministic evaluator.
  uint64_t seed = 1;
};

struct LengthSearchResult {
  // Every distinct configuration evaluated, in evaluation order; [0] is the
  // full model (all ratios 1.0).
  std::vector<EvaluatedConfig> evaluated;
  // The Pareto front of `evaluated`, most accurate (most costly) first.
  std::vector<EvaluatedConfig> front;
  // Generations completed (may stop early on the evaluation budget or when no
  // new configuration can be generated).
  int generations_run = 0;
};

// Runs the search. Configurations handed to `evaluate` are valid
// (LengthConfig::Validate(num_layers) is OK), on the grid, each at most once;
// the first is the full model. INVALID_ARGUMENT for bad options; a failing
// evaluation is returned as is.
absl::StatusOr<LengthSearchResult> SearchLengthConfigs(
    const LengthSearchOptions& options, const LengthEvaluator& evaluate);

// The non-dominated points of `points` (a dominates b when a.auc >= b.auc and
// a.cost <= b.cost with one strict; exact duplicates keep the first), sorted
// by cost descending (= auc descending along a front).
std::vector<EvaluatedConfig> ParetoFront(
    std::span<const EvaluatedConfig> points);

struct FrontSelectionOptions {
  // Variants to return, "full" included (>= 1).
  int count = 6;
  // Accuracy drops from the full model, in priority order: for each, the
  // cheapest front point with auc >= full.auc - drop. The largest is also the
  // floor: no point below full.auc - max(drops) is chosen.
  std::vector<double> auc_drops = {0.01, 0.03, 0.005, 0.02, 0.05};
  // Margin subtracted from every drop when the front was measured on a sample
  // (its AUC is noisy): picks need auc >= full.auc - (drop - margin).
  double auc_margin = 0;
};

// Chooses up to options.count points: `full` first, then points of `front`
// cheaper than `full`: the threshold picks (in priority order), then the
// fastest within the floor, then points spread evenly in log(cost) over the
// rest. Returned most accurate first (full, then auc descending).
std::vector<EvaluatedConfig> SelectAlongFront(
    std::span<const EvaluatedConfig> front, const EvaluatedConfig& full,
    const FrontSelectionOptions& options);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_COMPILE_LENGTH_SEARCH_H_
