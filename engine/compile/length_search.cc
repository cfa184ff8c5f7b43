#include "engine/compile/length_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fastrel {
namespace {

// A configuration as grid levels: ratio of layer l = 1 - levels[l] * step.
// Non-decreasing levels = non-increasing ratios.
using Genome = std::vector<int>;

// Deterministic helpers on top of the 64-bit Mersenne Twister (the standard
// distributions are implementation-defined; these are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [0, n), n > 0.
  int Below(int n) {
    const uint64_t limit =
        std::numeric_limits<uint64_t>::max() -
        std::numeric_limits<uint64_t>::max() % static_cast<uint64_t>(n);
    uint64_t x;
    do {
      x = gen_();
    } while (x >= limit);
    return static_cast<int>(x % static_cast<uint64_t>(n));
  }
  // Uniform in [lo, hi].
  int Between(int lo, int hi) { return lo + Below(hi - lo + 1); }

 private:
  std::mt19937_64 gen_;
};

class Grid {
 public:
  Grid(double step, double min_ratio)
      : step_(step),
        max_level_(
            static_cast<int>(std::floor((1.0 - min_ratio) / step + 1e-9))) {}
  int max_level() const { return max_level_; }
  // Rounded to 6 decimals so 1 - 3 * 0.05 prints as 0.85.
  double Ratio(int level) const {
    return std::round((1.0 - level * step_) * 1e6) / 1e6;
  }
  LengthConfig ToConfig(const Genome& g) const {
    LengthConfig c;
    c.keep_ratios.reserve(g.size());
    for (int k : g) c.keep_ratios.push_back(Ratio(k));
    return c;
  }

 private:
  double step_;
  int max_level_;
};

// Makes `g` non-decreasing keeping g[anchor]: later layers are raised to it,
// earlier ones lowered to it.
void RepairAround(Genome& g, int anchor) {
  for (size_t j = anchor + 1; j < g.size(); ++j) {
    g[j] = std::max(g[j], g[j - 1]);
  }
  for (int j = anchor - 1; j >= 0; --j) g[j] = std::min(g[j], g[j + 1]);
}

Genome RandomGenome(int layers, int max_level, Rng& rng) {
  Genome g(layers);
  for (int& k : g) k = rng.Between(0, max_level);
  std::sort(g.begin(), g.end());
  return g;
}

Genome Mutate(const Genome& parent, int max_level, Rng& rng) {
  Genome g = parent;
  const int l = rng.Below(static_cast<int>(g.size()));
  // A step of 1..3 grid levels up or down.
  int delta = rng.Between(1, 3);
  if (rng.Below(2) == 0) delta = -delta;
  g[l] = std::clamp(g[l] + delta, 0, max_level);
  RepairAround(g, l);
  return g;
}

Genome Crossover(const Genome& a, const Genome& b, Rng& rng) {
  Genome g(a.size());
  for (size_t l = 0; l < g.size(); ++l) g[l] = rng.Below(2) == 0 ? a[l] : b[l];
  std::sort(g.begin(), g.end());  // repair: keeps the chosen levels
  return g;
}

// Indices of the Pareto front of points[idx], cost descending.
std::vector<int> FrontIndices(std::span<const EvaluatedConfig> points,
                              const std::vector<int>& idx) {
  std::vector<int> order = idx;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const LengthObjective& x = points[a].objective;
    const LengthObjective& y = points[b].objective;
    if (x.cost != y.cost) return x.cost < y.cost;
    if (x.auc != y.auc) return x.auc > y.auc;
    return a < b;
  });
  std::vector<int> front;
  double best = -std::numeric_limits<double>::infinity();
  for (int i : order) {
    if (points[i].objective.auc > best) {
      front.push_back(i);
      best = points[i].objective.auc;
    }
  }
  std::reverse(front.begin(), front.end());
  return front;
}

// Parents: successive non-dominated fronts of `points` until `count` are
// taken; the last front used is thinned to points spread evenly along it.
std::vector<int> SelectParents(std::span<const EvaluatedConfig> points,
                               int count) {
  std::vector<int> rest(points.size());
  std::iota(rest.begin(), rest.end(), 0);
  std::vector<int> parents;
  while (!rest.empty() && static_cast<int>(parents.size()) < count) {
    std::vector<int> front = FrontIndices(points, rest);
    const int need = count - static_cast<int>(parents.size());
    if (static_cast<int>(front.size()) <= need) {
      parents.insert(parents.end(), front.begin(), front.end());
    } else {
      const int m = static_cast<int>(front.size());
      std::set<int> picked;
      for (int i = 0; i < need; ++i) {
        const int at =
            need == 1 ? 0
                      : static_cast<int>(std::lround(static_cast<double>(i) *
                                                     (m - 1) / (need - 1)));
        picked.insert(at);
      }
      for (int at : picked) parents.push_back(front[at]);
    }
    std::set<int> used(front.begin(), front.end());
    std::erase_if(rest, [&](int i) { return used.contains(i); });
  }
  return parents;
}

double SafeLog(double x) { return std::log(std::max(x, 1e-12)); }

absl::Status ValidateOptions(const LengthSearchOptions& o) {
  if (o.num_layers <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_layers must be > 0 (got ", o.num_layers, ")"));
  }
  if (!(o.grid_step > 0 && o.grid_step <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("grid_step must be in (0, 1] (got ", o.grid_step, ")"));
  }
  if (!(o.min_ratio > 0 && o.min_ratio <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_ratio must be in (0, 1] (got ", o.min_ratio, ")"));
  }
  if (o.population < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("population must be >= 2 (got ", o.population, ")"));
  }
  if (o.generations < 0 || o.max_evaluations < 0) {
    return absl::InvalidArgumentError(
        "generations and max_evaluations must be >= 0");
  }
  if (!(o.mutation_fraction >= 0 && o.mutation_fraction <= 1)) {
    return absl::InvalidArgumentError("mutation_fraction must be in [0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<EvaluatedConfig> ParetoFront(
    std::span<const EvaluatedConfig> points) {
  std::vector<int> all(points.size());
  std::iota(all.begin(), all.end(), 0);
  std::vector<EvaluatedConfig> out;
  for (int i : FrontIndices(points, all)) out.push_back(points[i]);
  return out;
}

absl::StatusOr<LengthSearchResult> SearchLengthConfigs(
    const LengthSearchOptions& options, const LengthEvaluator& evaluate) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  const Grid grid(options.grid_step, options.min_ratio);
  const int layers = options.num_layers;
  const int max_level = grid.max_level();
  Rng rng(options.seed);

  LengthSearchResult result;
  std::vector<Genome> genomes;  // parallel to result.evaluated
  std::set<Genome> seen;
  auto budget_left = [&] {
    return options.max_evaluations == 0 ||
           static_cast<int>(result.evaluated.size()) < options.max_evaluations;
  };
  auto evaluate_all = [&](const std::vector<Genome>& batch) -> absl::Status {
    for (const Genome& g : batch) {
      if (!budget_left()) break;
      LengthConfig config = grid.ToConfig(g);
      absl::StatusOr<LengthObjective> obj = evaluate(config);
      if (!obj.ok()) return obj.status();
      result.evaluated.push_back({std::move(config), *obj});
      genomes.push_back(g);
    }
    return absl::OkStatus();
  };
  auto add_new = [&](std::vector<Genome>& batch, Genome g) {
    if (seen.insert(g).second) batch.push_back(std::move(g));
  };

  // Initial population: the full model, the fastest configuration (every
  // ratio at min_ratio) so both ends of the front are known, structured seeds
  // spanning the cost range (ratios decaying linearly to 1/2 of the range at
  // the last layer; the first half of the layers at 1/2 of the range and the
  // rest at min_ratio; decaying to 3/4; the first half at 1/4 and the rest at
  // min_ratio; then decaying to 1/4, constant at 1/2 and 3/4), then random
  // monotone configurations. The "rest at min_ratio" seeds start the search
  // where the last layers' drops are cheap in accuracy (the last layer
  // computes only [CLS]; bench/results/variants4-2026-11-21.md): the
  // one-shot models/demo-4x1-80's lat-4 was [.4 .4 .05 .05], which the
  // linear seeds never led a 96-configuration search to
  // (bench/results/search5-2026-11-21.md).
  std::vector<Genome> initial;
  add_new(initial, Genome(layers, 0));
  add_new(initial, Genome(layers, max_level));
  const int seeds = std::max(2, options.population / 2);
  auto linear = [&](int q) {
    Genome g(layers);
    for (int l = 0; l < layers; ++l) {
      g[l] = max_level * q * (l + 1) / (4 * layers);
    }
    return g;
  };
  auto head_then_floor = [&](int q) {
    Genome g(layers, max_level);
    for (int l = 0; l < layers / 2; ++l) g[l] = max_level * q / 4;
    return g;
  };
  std::vector<Genome> structured = {linear(2),
                                    head_then_floor(2),
                                    linear(3),
                                    head_then_floor(1),
                                    linear(1),
                                    Genome(layers, max_level / 2),
                                    Genome(layers, max_level * 3 / 4)};
  for (Genome& g : structured) {
    if (static_cast<int>(initial.size()) >= seeds) break;
    add_new(initial, std::move(g));
  }
  for (int tries = 0; static_cast<int>(initial.size()) < options.population &&
                      tries < 100 * options.population;
       ++tries) {
    add_new(initial, RandomGenome(layers, max_level, rng));
  }
  if (absl::Status s = evaluate_all(initial); !s.ok()) return s;

  const int num_mutations = static_cast<int>(
      std::lround(options.population * options.mutation_fraction));
  for (int gen = 0; gen < options.generations && budget_left(); ++gen) {
    const std::vector<int> parents =
        SelectParents(result.evaluated, options.population);
    std::vector<Genome> children;
    for (int c = 0; c < options.population; ++c) {
      const bool mutate = c < num_mutations || parents.size() < 2;
      // A few attempts to produce a configuration not evaluated yet.
      for (int attempt = 0; attempt < 20; ++attempt) {
        Genome child;
        if (mutate) {
          child = Mutate(genomes[parents[rng.Below(parents.size())]], max_level,
                         rng);
        } else {
          const int a = rng.Below(parents.size());
          int b = rng.Below(parents.size() - 1);
          if (b >= a) ++b;
          child = Crossover(genomes[parents[a]], genomes[parents[b]], rng);
        }
        if (!seen.contains(child)) {
          add_new(children, std::move(child));
          break;
        }
      }
    }
    if (children.empty()) break;  // the neighbourhood is exhausted
    if (absl::Status s = evaluate_all(children); !s.ok()) return s;
    ++result.generations_run;
  }
  result.front = ParetoFront(result.evaluated);
  return result;
}

std::vector<EvaluatedConfig> SelectAlongFront(
    std::span<const EvaluatedConfig> front, const EvaluatedConfig& full,
    const FrontSelectionOptions& options) {
  std::vector<EvaluatedConfig> out = {full};
  if (options.count <= 1) return out;
  double max_drop = 0;
  for (double d : options.auc_drops) max_drop = std::max(max_drop, d);
  const double floor = full.objective.auc - (max_drop - options.auc_margin);
  // Eligible: cheaper than full, not below the floor; cost descending.
  std::vector<EvaluatedConfig> eligible;
  for (const EvaluatedConfig& p : front) {
    if (p.objective.cost < full.objective.cost && p.objective.auc >= floor &&
        p.length.keep_ratios != full.length.keep_ratios) {
      eligible.push_back(p);
    }
  }
  std::sort(eligible.begin(), eligible.end(),
            [](const EvaluatedConfig& a, const EvaluatedConfig& b) {
              return a.objective.cost > b.objective.cost;
            });
  const int n = static_cast<int>(eligible.size());
  std::vector<bool> chosen(n, false);
  int num_chosen = 0;
  auto choose = [&](int i) {
    if (i >= 0 && !chosen[i] && num_chosen < options.count - 1) {
      chosen[i] = true;
      ++num_chosen;
    }
  };
  for (double drop : options.auc_drops) {
    const double threshold = full.objective.auc - (drop - options.auc_margin);
    int cheapest = -1;
    for (int i = 0; i < n; ++i) {
      if (eligible[i].objective.auc >= threshold) cheapest = i;
    }
    choose(cheapest);
  }
  choose(n - 1);  // the fastest within the floor
  // Fill: farthest point (in log cost) from everything chosen so far.
  while (num_chosen < options.count - 1 && num_chosen < n) {
    int best = -1;
    double best_gap = -1;
    for (int i = 0; i < n; ++i) {
      if (chosen[i]) continue;
      const double lc = SafeLog(eligible[i].objective.cost);
      double gap = std::abs(lc - SafeLog(full.objective.cost));
      for (int j = 0; j < n; ++j) {
        if (chosen[j]) {
          gap =
              std::min(gap, std::abs(lc - SafeLog(eligible[j].objective.cost)));
        }
      }
      if (gap > best_gap) {
        best_gap = gap;
        best = i;
      }
    }
    choose(best);
  }
  for (int i = 0; i < n; ++i) {
    if (chosen[i]) out.push_back(eligible[i]);
  }
  return out;
}

}  // namespace fastrel
