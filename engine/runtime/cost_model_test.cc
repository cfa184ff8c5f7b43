#include "engine/runtime/cost_model.h"

#include <cmath>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

// Synthetic timings are exact, so the fit must recover them up to rounding
// in the normal equations (relative).
constexpr double kExactTol = 1e-6;

const LengthConfig kLatC{{0.7, 0.5, 0.4, 0.3}};

// t = a + b*T + c*Q + d*S on the variant's length-aware features.
struct Truth {
  double a, b, c, d;
};

BatchTimer SyntheticTimer(const std::vector<CostTarget>& targets,
                          const std::vector<Truth>& truth, bool length_aware,
                          int* calls = nullptr) {
  return [=](int v, std::span<const int> lengths) -> absl::StatusOr<BatchTime> {
    if (calls != nullptr) ++*calls;
    const CostFeatureValues f =
        ComputeCostFeatures(targets[v].length, length_aware, lengths);
    const Truth& t = truth[v];
    const double us =
        t.a + t.b * f.tokens + t.c * f.quadratic + t.d * f.sequences;
    return BatchTime{us, 0.5 * us};
  };
}

CalibrationOptions FastOptions() {
  CalibrationOptions o;
  o.budget_ms = 0;  // exactly min_shapes_per_variant shapes
  o.min_shapes_per_variant = 40;
  o.max_length = 128;
  o.clock = CostClock::kWall;  // the synthetic timers' wall time is the truth
  return o;
}

TEST(CostFeaturesTest, LengthAwareCountsTokensEnteringEachLayer) {
  const std::vector<int> lengths = {10, 4};
  CostFeatureValues raw = ComputeCostFeatures({}, true, lengths);
  EXPECT_DOUBLE_EQ(raw.tokens, 14);
  EXPECT_DOUBLE_EQ(raw.quadratic, 116);
  EXPECT_DOUBLE_EQ(raw.sequences, 2);
  // Two layers at 0.5: n=10 enters layer 0 with 10, layer 1 with 5; n=4
  // with 4, then 2.
  const LengthConfig half{{0.5, 0.5}};
  CostFeatureValues f = ComputeCostFeatures(half, true, lengths);
  EXPECT_DOUBLE_EQ(f.tokens, (10 + 5 + 4 + 2) / 2.0);
  EXPECT_DOUBLE_EQ(f.quadratic, (100 + 25 + 16 + 4) / 2.0);
  f = ComputeCostFeatures(half, false, lengths);
  EXPECT_DOUBLE_EQ(f.tokens, 14);
}

TEST(CostModelTest, RecoversSyntheticCoefficientsExactly) {
  const std::vector<CostTarget> targets = {{"full", {}}, {"lat-c", kLatC}};
  const std::vector<Truth> truth = {{300, 40, 0.25, 0}, {250, 22, 0.1, 0}};
  CalibrationOptions o = FastOptions();
  absl::StatusOr<CostModel> m =
      CostModel::Calibrate(targets, SyntheticTimer(targets, truth, true), o);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->variants().size(), 2u);
  for (int v = 0; v < 2; ++v) {
    const VariantCost& c = m->variants()[v];
    EXPECT_EQ(c.name, targets[v].name);
    EXPECT_NEAR(c.a_us, truth[v].a, kExactTol * truth[v].a);
    EXPECT_NEAR(c.b_us, truth[v].b, kExactTol * truth[v].b);
    EXPECT_NEAR(c.c_us, truth[v].c, kExactTol * truth[v].c);
    EXPECT_EQ(c.d_us, 0);  // feature off by default
    EXPECT_EQ(c.fit_shapes + c.holdout_shapes, 40);
    EXPECT_EQ(c.holdout_shapes, 10);  // 25% of 40
    EXPECT_LT(c.p90_rel_error, kExactTol);
  }
  // Predictions agree with the truth on a new shape.
  const std::vector<int> lengths = {100, 37, 5};
  const CostFeatureValues f = ComputeCostFeatures(kLatC, true, lengths);
  const double want = 250 + 22 * f.tokens + 0.1 * f.quadratic;
  EXPECT_NEAR(m->PredictMicros(1, lengths), want, kExactTol * want);
  absl::StatusOr<double> by_name = m->PredictMicros("lat-c", lengths);
  ASSERT_TRUE(by_name.ok());
  EXPECT_DOUBLE_EQ(*by_name, m->PredictMicros(1, lengths));
  EXPECT_EQ(m->PredictMicros("nope", lengths).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(std::isinf(m->PredictMicros(2, lengths)));
  EXPECT_TRUE(std::isinf(m->PredictMicros(-1, lengths)));
}

TEST(CostModelTest, SequenceTermAndThreadCpuClock) {
  const std::vector<CostTarget> targets = {{"full", {}}};
  const std::vector<Truth> truth = {{100, 10, 0.05, 30}};
  CalibrationOptions o = FastOptions();
  o.features.sequences = true;
  o.features.length_aware = false;
  o.clock = CostClock::kThreadCpu;  // the synthetic cpu time is half
  absl::StatusOr<CostModel> m =
      CostModel::Calibrate(targets, SyntheticTimer(targets, truth, false), o);
  ASSERT_TRUE(m.ok()) << m.status();
  const VariantCost& c = m->variants()[0];
  EXPECT_NEAR(c.a_us, 50, kExactTol * 50);
  EXPECT_NEAR(c.b_us, 5, kExactTol * 5);
  EXPECT_NEAR(c.c_us, 0.025, kExactTol * 0.025);
  EXPECT_NEAR(c.d_us, 15, kExactTol * 15);
}

TEST(CostModelTest, CoefficientsAreNonNegative) {
  // Time falls with tokens: the unconstrained fit would make b < 0.
  const std::vector<std::vector<int>> shapes = {{10}, {20}, {30}, {40}, {50}};
  const std::vector<double> us = {1000, 990, 980, 970, 960};
  CostFeatures features;
  features.quadratic = false;
  absl::StatusOr<VariantCost> c =
      CostModel::FitVariant({"x", {}}, shapes, us, features);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->b_us, 0);
  EXPECT_GT(c->a_us, 959);
  EXPECT_LT(c->a_us, 1001);
}

TEST(CostModelTest, KeepsTheFastestRepAndTrimsOutliers) {
  const std::vector<CostTarget> targets = {{"full", {}}};
  const Truth truth = {300, 40, 0.25, 0};
  int calls = 0;
  // Every other call is disturbed (x1.5), and shape 5 always (x3).
  const BatchTimer noisy =
      [&](int, std::span<const int> lengths) -> absl::StatusOr<BatchTime> {
    const CostFeatureValues f = ComputeCostFeatures({}, true, lengths);
    double us = truth.a + truth.b * f.tokens + truth.c * f.quadratic;
    const int call = calls++;
    const int shape = (call - 2) / 2;  // 2 warm-up calls, 2 reps per shape
    if (call % 2 == 0) us *= 1.5;
    if (shape == 5) us *= 3;
    return BatchTime{us, us};
  };
  CalibrationOptions o = FastOptions();
  o.holdout_fraction = 0;
  absl::StatusOr<CostModel> m = CostModel::Calibrate(targets, noisy, o);
  ASSERT_TRUE(m.ok()) << m.status();
  const VariantCost& c = m->variants()[0];
  EXPECT_EQ(c.trimmed_shapes, 1);
  EXPECT_NEAR(c.a_us, truth.a, kExactTol * truth.a);
  EXPECT_NEAR(c.b_us, truth.b, kExactTol * truth.b);
  EXPECT_NEAR(c.c_us, truth.c, kExactTol * truth.c);

  // Without trimming the outlier pulls the fit off.
  calls = 0;
  o.trim_outliers = false;
  m = CostModel::Calibrate(targets, noisy, o);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->variants()[0].trimmed_shapes, 0);
  EXPECT_GT(std::abs(m->variants()[0].b_us - truth.b), 0.01 * truth.b);
}

TEST(CostModelTest, RejectsBadInput) {
  CostFeatures features;
  EXPECT_FALSE(
      CostModel::FitVariant({"x", {}}, {{10}, {20}}, {1, 2}, features).ok());
  EXPECT_FALSE(
      CostModel::FitVariant({"x", {}}, {{10}, {20}, {30}}, {1, 0, 2}, features)
          .ok());
  const std::vector<CostTarget> targets = {{"full", {}}};
  const BatchTimer timer = SyntheticTimer(targets, {{1, 1, 1, 0}}, true);
  CalibrationOptions o = FastOptions();
  o.min_length = 0;
  EXPECT_FALSE(CostModel::Calibrate(targets, timer, o).ok());
  o = FastOptions();
  o.holdout_fraction = 1;
  EXPECT_FALSE(CostModel::Calibrate(targets, timer, o).ok());
  EXPECT_FALSE(CostModel::Calibrate({}, timer, FastOptions()).ok());
  const BatchTimer failing =
      [](int, std::span<const int>) -> absl::StatusOr<BatchTime> {
    return absl::InternalError("boom");
  };
  absl::StatusOr<CostModel> m =
      CostModel::Calibrate(targets, failing, FastOptions());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "boom");
}

TEST(CostModelTest, ShapesRespectTheOptions) {
  const std::vector<CostTarget> targets = {{"full", {}}};
  CalibrationOptions o = FastOptions();
  o.max_sequences = 8;
  o.max_batch_tokens = 300;
  o.max_length = 64;
  o.length_samples = {7, 7, 7};
  int calls = 0;
  int sample_shapes = 0;
  const BatchTimer timer =
      [&](int, std::span<const int> lengths) -> absl::StatusOr<BatchTime> {
    ++calls;
    EXPECT_GE(lengths.size(), 1u);
    EXPECT_LE(lengths.size(), 8u);
    int total = 0;
    bool all_sevens = true;
    for (int n : lengths) {
      EXPECT_GE(n, o.min_length);
      EXPECT_LE(n, 64);
      total += n;
      all_sevens = all_sevens && n == 7;
    }
    EXPECT_LE(total, 300);
    sample_shapes += all_sevens;
    return BatchTime{1.0 + total, 1.0 + total};
  };
  absl::StatusOr<CostModel> m = CostModel::Calibrate(targets, timer, o);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(calls,
            o.warmup_batches + o.min_shapes_per_variant * o.reps_per_shape);
  // Half the shapes draw from length_samples.
  EXPECT_GE(sample_shapes, (o.warmup_batches + o.min_shapes_per_variant) / 2);
}

TEST(CostModelTest, ReportNamesEveryVariant) {
  const std::vector<CostTarget> targets = {{"full", {}}, {"lat-c", kLatC}};
  absl::StatusOr<CostModel> m = CostModel::Calibrate(
      targets,
      SyntheticTimer(targets, {{300, 40, 0.25, 0}, {250, 22, 0.1, 0}}, true),
      FastOptions());
  ASSERT_TRUE(m.ok());
  const std::string text = m->Report();
  EXPECT_NE(text.find("full"), std::string::npos);
  EXPECT_NE(text.find("lat-c"), std::string::npos);
  auto j = nlohmann::json::parse(m->ReportJson());
  ASSERT_EQ(j["variants"].size(), 2u);
  EXPECT_EQ(j["variants"][1]["name"], "lat-c");
  EXPECT_NEAR(j["variants"][1]["b_us_per_token"].get<double>(), 22, 1e-4);
}

// Plumbing on the real demo model: every variant is timed and fitted. No
// bound on the error here (timing on a shared machine is flaky): the bench
// measures it.
TEST(CostModelTest, CalibratesTheDemoModel) {
  auto model = Model::Load(FASTREL_SOURCE_DIR "/models/demo");
  ASSERT_TRUE(model.ok()) << model.status();
  CalibrationOptions o;
  o.budget_ms = 0;
  o.min_shapes_per_variant = 8;
  o.max_batch_tokens = 256;
  absl::StatusOr<CostModel> m = CostModel::Calibrate(**model, o);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->variants().size(), (*model)->variants().size());
  const std::vector<int> small = {20}, big = {120, 120, 120, 120};
  EXPECT_GT(m->PredictMicros(0, small), 0);
  EXPECT_GT(m->PredictMicros(0, big), m->PredictMicros(0, small));
}

}  // namespace
}  // namespace fastrel
