#include "loadtest/schedule.h"

#include <cmath>

#include "gtest/gtest.h"

namespace fastrel::loadtest {
namespace {

TEST(ScheduleTest, ConstantRateIsEvenlySpaced) {
  ArrivalSchedule s({{100, absl::Seconds(1)}}, Arrival::kConstant, 1);
  int n = 0;
  absl::Duration last = -absl::Seconds(1);
  while (auto t = s.Next()) {
    EXPECT_NEAR(absl::ToDoubleMilliseconds(*t), 10.0 * n, 1e-6);
    EXPECT_GT(*t, last);
    last = *t;
    ++n;
  }
  EXPECT_EQ(n, 100);
}

TEST(ScheduleTest, PoissonMeanRateWithinTolerance) {
  // 200 s at 500/s = 100k arrivals; the count's standard deviation is
  // sqrt(1e5) ~ 316 (0.3%), so 2% tolerance is > 6 sigma.
  constexpr double kRate = 500, kSeconds = 200, kTolerance = 0.02;
  ArrivalSchedule s({{kRate, absl::Seconds(kSeconds)}}, Arrival::kPoisson, 42);
  int64_t n = 0;
  double sum_sq_gap = 0, last = 0;
  while (auto t = s.Next()) {
    const double now = absl::ToDoubleSeconds(*t);
    ASSERT_GE(now, last);
    sum_sq_gap += (now - last) * (now - last);
    last = now;
    ++n;
  }
  EXPECT_NEAR(static_cast<double>(n) / kSeconds, kRate, kRate * kTolerance);
  // Exponential gaps: E[gap^2] = 2 / rate^2 (a constant schedule gives
  // 1/rate^2).
  EXPECT_NEAR(sum_sq_gap / static_cast<double>(n) * kRate * kRate, 2.0, 0.1);
}

TEST(ScheduleTest, PoissonIsReproducibleWithSeed) {
  ArrivalSchedule a({{50, absl::Seconds(2)}}, Arrival::kPoisson, 9);
  ArrivalSchedule b({{50, absl::Seconds(2)}}, Arrival::kPoisson, 9);
  ArrivalSchedule c({{50, absl::Seconds(2)}}, Arrival::kPoisson, 10);
  auto ta = a.Next(), tb = b.Next(), tc = c.Next();
  EXPECT_EQ(*ta, *tb);
  EXPECT_NE(*ta, *tc);
}

TEST(ScheduleTest, StepProfileFollowsRates) {
  absl::StatusOr<std::vector<Segment>> profile =
      ParseProfile("0.5x2s, 2x2s,0.5x2s", 100);
  ASSERT_TRUE(profile.ok()) << profile.status();
  ArrivalSchedule s(*profile, Arrival::kConstant, 1);
  EXPECT_EQ(s.total(), absl::Seconds(6));
  int counts[3] = {0, 0, 0};
  while (auto t = s.Next())
    ++counts[static_cast<int>(absl::ToDoubleSeconds(*t) / 2)];
  EXPECT_EQ(counts[0], 100);
  EXPECT_EQ(counts[1], 400);
  EXPECT_EQ(counts[2], 100);
  EXPECT_DOUBLE_EQ(s.RateAt(absl::Seconds(3)), 200);
}

TEST(ScheduleTest, BadProfilesNameTheItem) {
  for (const char* bad : {"", "2x", "x10s", "0x10s", "-1x10s", "2x-5s", "2x10",
                          "abc", "nanx1s", "1x10s,,1x10s"}) {
    absl::StatusOr<std::vector<Segment>> p = ParseProfile(bad, 100);
    EXPECT_FALSE(p.ok()) << bad;
  }
  absl::StatusOr<std::vector<Segment>> p = ParseProfile("1x1s,2y3s", 100);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("2y3s"), std::string::npos) << p.status();
  EXPECT_FALSE(ParseProfile("1x1s", 0).ok());
}

TEST(ScheduleTest, ParseArrival) {
  EXPECT_EQ(*ParseArrival("poisson"), Arrival::kPoisson);
  EXPECT_EQ(*ParseArrival("constant"), Arrival::kConstant);
  EXPECT_FALSE(ParseArrival("uniform").ok());
}

}  // namespace
}  // namespace fastrel::loadtest
