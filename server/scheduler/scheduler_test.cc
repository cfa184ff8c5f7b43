#include "server/scheduler/scheduler.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_servable.h"

namespace fastrel::server {
namespace {

using testing::FakeServable;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

std::vector<WorkItem> Items(const Servable& s,
                            const std::vector<absl::Time>& deadlines,
                            int pin = -1) {
  std::vector<WorkItem> items;
  for (size_t i = 0; i < deadlines.size(); ++i) {
    WorkItem item;
    item.request =
        std::make_shared<PendingRequest>(1, deadlines[i], [](RequestResult) {});
    item.index = static_cast<int>(i);
    item.pair = s.Encode("q", "a b c d e f g h");  // 12 tokens
    item.pinned_variant = pin;
    item.deadline = deadlines[i];
    item.enqueue_time = kNow - absl::Milliseconds(1);
    items.push_back(std::move(item));
  }
  return items;
}

TEST(SchedulerTest, UnpinnedBatchRunsTheMostAccurateVariant) {
  FakeServable model;
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Seconds(1), kNow + absl::Seconds(1)}), kNow,
      model);
  EXPECT_EQ(plan.variant, 0);
  EXPECT_EQ(plan.run.size(), 2u);
  EXPECT_TRUE(plan.shed.empty());
}

TEST(SchedulerTest, PinnedVariantIsUsed) {
  FakeServable model;
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Seconds(1)}, /*pin=*/1), kNow, model);
  EXPECT_EQ(plan.variant, 1);
  EXPECT_EQ(plan.run.size(), 1u);
}

TEST(SchedulerTest, ExpiredItemsAreShedWithDeadlineExceeded) {
  FakeServable model;
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow, kNow + absl::Seconds(1), kNow - absl::Seconds(1)}),
      kNow, model);
  ASSERT_EQ(plan.run.size(), 1u);
  EXPECT_EQ(plan.run[0].index, 1);
  ASSERT_EQ(plan.shed.size(), 2u);
  for (const auto& [item, status] : plan.shed) {
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(status.message(), ::testing::HasSubstr("deadline passed"));
  }
}

TEST(SchedulerTest, ItemsThatCannotMeetTheirDeadlineAreShed) {
  FakeServable model;
  // 2 items x 12 tokens x 1 ms = 24 ms predicted for the full variant.
  model.cost_micros_per_token = 1000;
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Milliseconds(10), kNow + absl::Seconds(1)}),
      kNow, model);
  ASSERT_EQ(plan.run.size(), 1u);
  EXPECT_EQ(plan.run[0].index, 1);
  ASSERT_EQ(plan.shed.size(), 1u);
  EXPECT_EQ(plan.shed[0].second.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plan.shed[0].second.message(), ::testing::HasSubstr("shed"));
}

TEST(SchedulerTest, DisabledSheddingRunsLateItemsButNotExpiredOnes) {
  FakeServable model;
  model.cost_micros_per_token = 1000;
  SchedulerOptions options;
  options.shedding = false;
  Scheduler scheduler(options, nullptr);
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Milliseconds(10), kNow - absl::Seconds(1)}),
      kNow, model);
  EXPECT_EQ(plan.run.size(), 1u);
  ASSERT_EQ(plan.shed.size(), 1u);
  EXPECT_EQ(plan.shed[0].second.code(), absl::StatusCode::kDeadlineExceeded);
}

// Records what the scheduler tells its chooser and picks the last variant.
class RecordingChooser : public VariantChooser {
 public:
  explicit RecordingChooser(VariantChoiceInput* seen) : seen_(seen) {}
  int Choose(const VariantChoiceInput& input) const override {
    *seen_ = input;
    return static_cast<int>(input.predicted_cost.size()) - 1;
  }

 private:
  VariantChoiceInput* seen_;
};

TEST(SchedulerTest, ChooserSeesEarliestDeadlineAndPerVariantCosts) {
  FakeServable model;
  model.cost_micros_per_token = 10;
  VariantChoiceInput seen;
  Scheduler scheduler(SchedulerOptions{},
                      std::make_unique<RecordingChooser>(&seen));
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Seconds(2), kNow + absl::Seconds(1)}), kNow,
      model);
  EXPECT_EQ(plan.variant, 1);
  EXPECT_EQ(seen.now, kNow);
  EXPECT_EQ(seen.earliest_deadline, kNow + absl::Seconds(1));
  EXPECT_EQ(seen.pinned_variant, -1);
  ASSERT_EQ(seen.predicted_cost.size(), 2u);
  EXPECT_EQ(seen.predicted_cost[0], absl::Microseconds(240));  // 24 tokens
  EXPECT_EQ(seen.predicted_cost[1], absl::Microseconds(120));
}

TEST(SchedulerTest, ChooserCannotOverrideAPin) {
  FakeServable model;
  VariantChoiceInput seen;
  Scheduler scheduler(SchedulerOptions{},
                      std::make_unique<RecordingChooser>(&seen));
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Seconds(1)}, /*pin=*/0), kNow, model);
  EXPECT_EQ(plan.variant, 0);
}

TEST(SchedulerTest, WithoutACostModelTheMostAccurateVariantAlwaysRuns) {
  FakeServable model({"fake"}, {"full", "half", "third"});
  ASSERT_EQ(model.cost_model(), nullptr);
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  BatchPlan plan =
      scheduler.Plan(Items(model, {kNow + absl::Microseconds(1)}), kNow, model);
  EXPECT_EQ(plan.variant, 0);
  EXPECT_EQ(plan.predicted_cost, absl::ZeroDuration());
  EXPECT_EQ(plan.run.size(), 1u);
}

// With a cost model (fake: 100 us per token / (variant + 1)) the automatic
// chooser is cost-aware: one item of 12 tokens costs 1.2, 0.6, 0.4 ms.
TEST(SchedulerTest, WithACostModelTheVariantFollowsTheDeadline) {
  FakeServable model({"fake"}, {"full", "half", "third"});
  model.cost_micros_per_token = 100;
  ASSERT_NE(model.cost_model(), nullptr);
  SchedulerOptions options;
  options.cost_aware.relative_margin = 0;
  options.cost_aware.absolute_margin = absl::ZeroDuration();
  Scheduler scheduler(options, nullptr);
  struct Case {
    absl::Duration budget;
    int variant;
  };
  for (const Case& c :
       {Case{absl::Milliseconds(5), 0}, Case{absl::Microseconds(1200), 0},
        Case{absl::Microseconds(1199), 1}, Case{absl::Microseconds(600), 1},
        Case{absl::Microseconds(500), 2}}) {
    BatchPlan plan =
        scheduler.Plan(Items(model, {kNow + c.budget}), kNow, model);
    EXPECT_EQ(plan.variant, c.variant) << c.budget;
    EXPECT_EQ(plan.predicted_cost, absl::Microseconds(1200 / (c.variant + 1)))
        << c.budget;
    EXPECT_EQ(plan.run.size(), 1u) << c.budget;
  }
  // Pinned: the pin runs, and is shed when it cannot make the deadline.
  BatchPlan pinned = scheduler.Plan(
      Items(model, {kNow + absl::Microseconds(500)}, /*pin=*/0), kNow, model);
  EXPECT_EQ(pinned.variant, 0);
  EXPECT_TRUE(pinned.run.empty());
  ASSERT_EQ(pinned.shed.size(), 1u);
  EXPECT_EQ(pinned.shed[0].second.code(), absl::StatusCode::kResourceExhausted);
}

TEST(SchedulerTest, DefaultMarginsMakeTheChoiceConservative) {
  FakeServable model({"fake"}, {"full", "half"});
  model.cost_micros_per_token = 100;  // 1.2 ms and 0.6 ms for one item
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  // 1.2 ms * 1.2 + 0.5 ms = 1.94 ms needed by the full variant.
  EXPECT_EQ(
      scheduler
          .Plan(Items(model, {kNow + absl::Microseconds(1940)}), kNow, model)
          .variant,
      0);
  BatchPlan tight = scheduler.Plan(
      Items(model, {kNow + absl::Microseconds(1939)}), kNow, model);
  EXPECT_EQ(tight.variant, 1);
  EXPECT_EQ(tight.run.size(), 1u);
}

TEST(SchedulerTest, WhenNothingFitsTheCheapestVariantRunsInsteadOfShedding) {
  FakeServable model({"fake"}, {"full", "half", "third"});
  model.cost_micros_per_token = 100;  // 1.2, 0.6, 0.4 ms for one item
  Scheduler scheduler(SchedulerOptions{}, nullptr);
  // 0.45 ms: no variant fits with the margins, the cheapest (0.4 ms raw)
  // can still make it and runs.
  BatchPlan plan = scheduler.Plan(
      Items(model, {kNow + absl::Microseconds(450)}), kNow, model);
  EXPECT_EQ(plan.variant, 2);
  EXPECT_EQ(plan.run.size(), 1u);
  EXPECT_TRUE(plan.shed.empty());
}

TEST(SchedulerTest, AfterSheddingTheRestChooseAgain) {
  FakeServable model({"fake"}, {"full", "half"});
  model.cost_micros_per_token = 100;
  SchedulerOptions options;
  options.cost_aware.relative_margin = 0;
  options.cost_aware.absolute_margin = absl::ZeroDuration();
  Scheduler scheduler(options, nullptr);
  // Two items (24 tokens: 2.4 / 1.2 ms). The first cannot make even the
  // cheap variant (1 ms < 1.2 ms) and is shed; the second alone costs 1.2 ms
  // with the full variant and has 2 ms: the full variant runs it.
  BatchPlan plan = scheduler.Plan(Items(model, {kNow + absl::Milliseconds(1),
                                                kNow + absl::Milliseconds(2)}),
                                  kNow, model);
  ASSERT_EQ(plan.shed.size(), 1u);
  EXPECT_EQ(plan.shed[0].first.index, 0);
  EXPECT_EQ(plan.shed[0].second.code(), absl::StatusCode::kResourceExhausted);
  ASSERT_EQ(plan.run.size(), 1u);
  EXPECT_EQ(plan.run[0].index, 1);
  EXPECT_EQ(plan.variant, 0);
  EXPECT_EQ(plan.predicted_cost, absl::Microseconds(1200));
}

}  // namespace
}  // namespace fastrel::server
