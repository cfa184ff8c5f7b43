#include "engine/compile/length_search.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace fastrel {
namespace {

// Synthetic objective: cost = mean keep ratio (token count drives cost);
// accuracy drops quadratically with dropping, more in early layers.
LengthObjective Synthetic(const LengthConfig& c) {
  static const double kWeights[] = {0.8, 0.4, 0.2, 0.1};
  LengthObjective o;
  double sum = 0;
  o.auc = 0.95;
  for (size_t l = 0; l < c.keep_ratios.size(); ++l) {
    const double r = c.keep_ratios[l];
    sum += r;
    o.auc -= kWeights[l % 4] * (1 - r) * (1 - r);
  }
  o.cost = sum / c.keep_ratios.size();
  return o;
}

LengthEvaluator SyntheticEvaluator(int* calls = nullptr) {
  return [calls](const LengthConfig& c) -> absl::StatusOr<LengthObjective> {
    if (calls != nullptr) ++*calls;
    return Synthetic(c);
  };
}

// Every non-increasing configuration of `layers` ratios on the grid
// 1 - k * step, k = 0..max_level.
void Enumerate(int layers, int max_level, double step, std::vector<int>& cur,
               std::vector<EvaluatedConfig>& out) {
  if (static_cast<int>(cur.size()) == layers) {
    LengthConfig c;
    for (int k : cur)
      c.keep_ratios.push_back(std::round((1 - k * step) * 1e6) / 1e6);
    out.push_back({c, Synthetic(c)});
    return;
  }
  const int lo = cur.empty() ? 0 : cur.back();
  for (int k = lo; k <= max_level; ++k) {
    cur.push_back(k);
    Enumerate(layers, max_level, step, cur, out);
    cur.pop_back();
  }
}

// Area dominated by a front (auc up, cost down) inside the box
// [cost <= ref_cost] x [auc >= ref_auc].
double Hypervolume(std::vector<EvaluatedConfig> front, double ref_cost,
                   double ref_auc) {
  std::sort(front.begin(), front.end(), [](const auto& a, const auto& b) {
    return a.objective.cost < b.objective.cost;
  });
  double area = 0;
  double best_auc = ref_auc;
  for (size_t i = 0; i < front.size(); ++i) {
    best_auc = std::max(best_auc, front[i].objective.auc);
    const double next_cost =
        i + 1 < front.size() ? front[i + 1].objective.cost : ref_cost;
    area += (next_cost - front[i].objective.cost) * (best_auc - ref_auc);
  }
  return area;
}

LengthSearchOptions SmallOptions() {
  LengthSearchOptions o;
  o.num_layers = 3;
  o.grid_step = 0.1;
  o.min_ratio = 0.1;
  o.population = 10;
  o.generations = 12;
  o.seed = 7;
  return o;
}

TEST(LengthSearchTest, DefaultSeedsReachTheFloor) {
  // Default grid on 4 layers: floor 0.05 (the bundled lat-4 keeps 0.05 in its
  // last two layers), 19 levels below 1.0. After the full model, the fastest
  // configuration is every ratio at the floor; after the first linear decay
  // come the first half of the layers at 1/2 of the range (level 9: 0.55)
  // with the rest at the floor, the second linear decay, then the first half
  // at 1/4 (level 4: 0.8) with the rest at the floor.
  LengthSearchOptions o;
  o.num_layers = 4;
  o.population = 12;  // 6 seeds
  o.generations = 0;
  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(o, SyntheticEvaluator());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(r->evaluated.size(), 6u);
  EXPECT_EQ(r->evaluated[1].length.keep_ratios, std::vector<double>(4, 0.05));
  EXPECT_EQ(r->evaluated[3].length.keep_ratios,
            (std::vector<double>{0.55, 0.55, 0.05, 0.05}));
  EXPECT_EQ(r->evaluated[5].length.keep_ratios,
            (std::vector<double>{0.8, 0.8, 0.05, 0.05}));
}

TEST(LengthSearchTest, FindsTheKnownParetoFront) {
  LengthSearchOptions o = SmallOptions();
  o.num_layers = 4;
  o.population = 12;
  o.generations = 20;
  std::vector<EvaluatedConfig> all;
  std::vector<int> cur;
  Enumerate(o.num_layers, 9, o.grid_step, cur, all);
  ASSERT_EQ(all.size(), 715u);  // C(9 + 4, 4)
  const std::vector<EvaluatedConfig> truth = ParetoFront(all);

  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(o, SyntheticEvaluator());
  ASSERT_TRUE(r.ok()) << r.status();
  // It must evaluate well under the whole space...
  EXPECT_LE(r->evaluated.size(), all.size() / 2);
  // ...and still recover nearly all of the true front's hypervolume.
  const double ref_cost = 1.01, ref_auc = 0.0;
  const double found = Hypervolume(r->front, ref_cost, ref_auc);
  const double best = Hypervolume(truth, ref_cost, ref_auc);
  // 1% of hypervolume: a couple of missing interior front points.
  constexpr double kHypervolumeTolerance = 0.01;
  EXPECT_GE(found, best * (1 - kHypervolumeTolerance))
      << "found " << found << " of " << best;
  // Every true front point is matched by a found one up to one grid step on
  // one layer in cost (0.1 / 4 layers) and a small accuracy loss.
  constexpr double kCostSlack = 0.025;
  constexpr double kAucSlack = 0.002;
  for (const EvaluatedConfig& t : truth) {
    bool covered = false;
    for (const EvaluatedConfig& f : r->front) {
      covered |= f.objective.cost <= t.objective.cost + kCostSlack &&
                 f.objective.auc >= t.objective.auc - kAucSlack;
    }
    EXPECT_TRUE(covered) << "true front point " << t.objective.auc << " @ "
                         << t.objective.cost << " not approached";
  }
  // Most points on the found front are exact true front points.
  std::set<std::vector<double>> truth_set;
  for (const auto& p : truth) truth_set.insert(p.length.keep_ratios);
  int on_true_front = 0;
  for (const auto& p : r->front) {
    on_true_front += truth_set.contains(p.length.keep_ratios);
  }
  EXPECT_GE(on_true_front, static_cast<int>(r->front.size()) * 2 / 3)
      << "truth " << truth.size() << " evaluated " << r->evaluated.size();
  // The extremes: the full model and the all-minimum configuration.
  EXPECT_EQ(r->front.front().length.keep_ratios, std::vector<double>(4, 1.0));
  EXPECT_EQ(r->front.back().length.keep_ratios, std::vector<double>(4, 0.1));
}

TEST(LengthSearchTest, OnlyValidMonotoneGridConfigsEachOnce) {
  LengthSearchOptions o = SmallOptions();
  o.num_layers = 4;
  o.grid_step = 0.05;
  o.min_ratio = 0.2;
  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(o, SyntheticEvaluator());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->evaluated.empty());
  EXPECT_EQ(r->evaluated[0].length.keep_ratios, std::vector<double>(4, 1.0));
  std::set<std::vector<double>> seen;
  for (const EvaluatedConfig& e : r->evaluated) {
    const std::vector<double>& k = e.length.keep_ratios;
    EXPECT_TRUE(e.length.Validate(4).ok());
    EXPECT_TRUE(seen.insert(k).second) << "evaluated twice";
    for (size_t l = 0; l < k.size(); ++l) {
      EXPECT_GE(k[l], 0.2 - 1e-12);
      const double steps = (1 - k[l]) / 0.05;
      EXPECT_NEAR(steps, std::round(steps), 1e-6) << "off grid: " << k[l];
      if (l > 0) {
        EXPECT_LE(k[l], k[l - 1]);
      }
    }
  }
}

TEST(LengthSearchTest, DeterministicWithASeed) {
  LengthSearchOptions o = SmallOptions();
  absl::StatusOr<LengthSearchResult> a =
      SearchLengthConfigs(o, SyntheticEvaluator());
  absl::StatusOr<LengthSearchResult> b =
      SearchLengthConfigs(o, SyntheticEvaluator());
  o.seed = 8;
  absl::StatusOr<LengthSearchResult> c =
      SearchLengthConfigs(o, SyntheticEvaluator());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto configs = [](const LengthSearchResult& r) {
    std::vector<std::vector<double>> v;
    for (const auto& e : r.evaluated) v.push_back(e.length.keep_ratios);
    return v;
  };
  EXPECT_EQ(configs(*a), configs(*b));
  EXPECT_NE(configs(*a), configs(*c));
}

TEST(LengthSearchTest, RespectsTheEvaluationBudget) {
  LengthSearchOptions o = SmallOptions();
  o.max_evaluations = 15;
  int calls = 0;
  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(o, SyntheticEvaluator(&calls));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 15);
  EXPECT_EQ(r->evaluated.size(), 15u);
}

TEST(LengthSearchTest, StopsWhenTheSpaceIsExhausted) {
  LengthSearchOptions o;
  o.num_layers = 2;
  o.grid_step = 0.5;  // ratios 1.0 and 0.5: 3 monotone configs
  o.min_ratio = 0.5;
  o.population = 4;
  o.generations = 5;
  int calls = 0;
  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(o, SyntheticEvaluator(&calls));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r->generations_run, 0);
}

TEST(LengthSearchTest, EvaluatorErrorsAbort) {
  int calls = 0;
  LengthEvaluator failing =
      [&](const LengthConfig& c) -> absl::StatusOr<LengthObjective> {
    if (++calls == 3) return absl::InternalError("boom");
    return Synthetic(c);
  };
  absl::StatusOr<LengthSearchResult> r =
      SearchLengthConfigs(SmallOptions(), failing);
  EXPECT_EQ(r.status(), absl::InternalError("boom"));
  EXPECT_EQ(calls, 3);
}

TEST(LengthSearchTest, RejectsBadOptions) {
  for (auto mod : std::vector<void (*)(LengthSearchOptions&)>{
           [](LengthSearchOptions& o) { o.num_layers = 0; },
           [](LengthSearchOptions& o) { o.grid_step = 0; },
           [](LengthSearchOptions& o) { o.min_ratio = 1.5; },
           [](LengthSearchOptions& o) { o.population = 1; },
           [](LengthSearchOptions& o) { o.generations = -1; },
           [](LengthSearchOptions& o) { o.mutation_fraction = 2; }}) {
    LengthSearchOptions o = SmallOptions();
    mod(o);
    EXPECT_EQ(SearchLengthConfigs(o, SyntheticEvaluator()).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

EvaluatedConfig Point(double r, double auc, double cost) {
  return {LengthConfig{{r}}, {auc, cost}};
}

TEST(ParetoFrontTest, KeepsNonDominatedMostAccurateFirst) {
  const std::vector<EvaluatedConfig> points = {
      Point(1.0, 0.95, 1.0), Point(0.9, 0.94, 0.8), Point(0.8, 0.93, 0.85),
      Point(0.7, 0.94, 0.8),  // duplicate objective of 0.9: dropped
      Point(0.6, 0.90, 0.5), Point(0.5, 0.90, 0.6),  // dominated by 0.6
      Point(0.4, 0.96, 1.2)};
  const std::vector<EvaluatedConfig> front = ParetoFront(points);
  std::vector<double> got;
  for (const auto& p : front) got.push_back(p.length.keep_ratios[0]);
  EXPECT_EQ(got, (std::vector<double>{0.4, 1.0, 0.9, 0.6}));
}

TEST(SelectAlongFrontTest, ThresholdPicksFastestAndFill) {
  const EvaluatedConfig full = Point(1.0, 0.950, 1.0);
  const std::vector<EvaluatedConfig> front = {
      full,
      Point(0.95, 0.949, 0.85),
      Point(0.90, 0.946, 0.70),  // cheapest within 0.005
      Point(0.85, 0.942, 0.62),  // cheapest within 0.01
      Point(0.80, 0.935, 0.50),  // cheapest within 0.02
      Point(0.75, 0.925, 0.42),  // cheapest within 0.03
      Point(0.70, 0.910, 0.35),  // fastest within the floor 0.05
      Point(0.65, 0.880, 0.20),  // below the floor
  };
  FrontSelectionOptions o;
  o.count = 3;
  std::vector<EvaluatedConfig> got = SelectAlongFront(front, full, o);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].length.keep_ratios[0], 1.0);
  EXPECT_EQ(got[1].length.keep_ratios[0], 0.85);  // priority 1: drop 0.01
  EXPECT_EQ(got[2].length.keep_ratios[0], 0.75);  // priority 2: drop 0.03

  o.count = 7;  // 0.01, 0.03, 0.005, 0.02, 0.05 (= fastest) + one fill
  got = SelectAlongFront(front, full, o);
  std::vector<double> ratios;
  for (const auto& p : got) ratios.push_back(p.length.keep_ratios[0]);
  EXPECT_EQ(ratios,
            (std::vector<double>{1.0, 0.95, 0.90, 0.85, 0.80, 0.75, 0.70}));

  o.count = 20;  // never below the floor, never more than the front
  EXPECT_EQ(SelectAlongFront(front, full, o).size(), 7u);

  o.count = 2;  // margin: drop 0.01 - 0.004 -> needs auc >= 0.944
  o.auc_margin = 0.004;
  got = SelectAlongFront(front, full, o);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].length.keep_ratios[0], 0.90);

  o.count = 1;
  EXPECT_EQ(SelectAlongFront(front, full, o).size(), 1u);
}

}  // namespace
}  // namespace fastrel
