#include "server/scheduler/variant_chooser.h"

#include <vector>

#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

VariantChoiceInput Input(absl::Duration budget, std::vector<int> cost_ms,
                         int pin = -1) {
  VariantChoiceInput input;
  input.now = kNow;
  input.earliest_deadline = kNow + budget;
  input.pinned_variant = pin;
  for (int ms : cost_ms) input.predicted_cost.push_back(absl::Milliseconds(ms));
  return input;
}

// No margins: a variant fits exactly when now + cost <= deadline.
CostAwareChooserOptions NoMargin() {
  CostAwareChooserOptions o;
  o.relative_margin = 0;
  o.absolute_margin = absl::ZeroDuration();
  return o;
}

TEST(MostAccurateChooserTest, IgnoresCosts) {
  MostAccurateChooser chooser;
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(1), {50, 10})), 0);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(1), {50, 10}, 1)), 1);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(1), {50, 10}, 7)), 0);
}

TEST(CostAwareChooserTest, PicksTheMostAccurateVariantThatFits) {
  CostAwareChooser chooser(NoMargin());
  // Costs of variants 0..3 (most accurate first): 40, 30, 20, 10 ms.
  const std::vector<int> costs = {40, 30, 20, 10};
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(100), costs)), 0);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(40), costs)), 0);  // ==
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(39), costs)), 1);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(25), costs)), 2);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(10), costs)), 3);
}

TEST(CostAwareChooserTest, NothingFitsRunsTheCheapest) {
  CostAwareChooser chooser(NoMargin());
  // The cheapest need not be the last one; ties go to the more accurate.
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(5), {40, 10, 20, 10})), 1);
  // A deadline already passed: still the cheapest, never a crash.
  EXPECT_EQ(chooser.Choose(Input(-absl::Milliseconds(5), {40, 30, 20})), 2);
}

TEST(CostAwareChooserTest, PinWinsOverCosts) {
  CostAwareChooser chooser(NoMargin());
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(1), {40, 10}, 0)), 0);
  EXPECT_EQ(chooser.Choose(Input(absl::Seconds(1), {40, 10}, 1)), 1);
  // An out-of-range pin is ignored.
  EXPECT_EQ(chooser.Choose(Input(absl::Seconds(1), {40, 10}, 2)), 0);
}

TEST(CostAwareChooserTest, MarginsAreAppliedToThePrediction) {
  CostAwareChooserOptions o;
  o.relative_margin = 0.25;
  o.absolute_margin = absl::Milliseconds(1);
  CostAwareChooser chooser(o);
  // Variant 0 needs 40 * 1.25 + 1 = 51 ms, variant 1 needs 20 * 1.25 + 1 = 26.
  const std::vector<int> costs = {40, 20};
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(51), costs)), 0);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(50), costs)), 1);
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(26), costs)), 1);
  EXPECT_TRUE(chooser.Fits(kNow, absl::Milliseconds(20),
                           kNow + absl::Milliseconds(26)));
  EXPECT_FALSE(chooser.Fits(kNow, absl::Milliseconds(20),
                            kNow + absl::Milliseconds(25)));
  // The default margins are the documented ones.
  CostAwareChooserOptions defaults;
  EXPECT_EQ(defaults.relative_margin, 0.2);
  EXPECT_EQ(defaults.absolute_margin, absl::Microseconds(500));
}

TEST(CostAwareChooserTest, UnknownAndUnpredictableCosts) {
  CostAwareChooser chooser(NoMargin());
  // Zero = unknown counts as fitting (as without a cost model).
  EXPECT_EQ(chooser.Choose(Input(absl::Milliseconds(1), {0, 10})), 0);
  // Infinite never fits and is never the cheapest while a finite one exists.
  VariantChoiceInput input = Input(absl::Milliseconds(1), {40, 30});
  input.predicted_cost[0] = absl::InfiniteDuration();
  EXPECT_EQ(chooser.Choose(input), 1);
  input.predicted_cost[1] = absl::InfiniteDuration();
  EXPECT_EQ(chooser.Choose(input), 0);
}

}  // namespace
}  // namespace fastrel::server
