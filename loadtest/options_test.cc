#include "loadtest/options.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace fastrel::loadtest {
namespace {

Flags RateFlags(double rate) {
  Flags f;
  f.rate = rate;
  return f;
}

TEST(OptionsTest, OpenLoopDefaults) {
  absl::StatusOr<Plan> p = Validate(RateFlags(20));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->mode, Plan::Mode::kOpenLoop);
  ASSERT_EQ(p->segments.size(), 1u);
  EXPECT_EQ(p->segments[0].rate_rps, 20);
  EXPECT_EQ(p->duration, absl::Seconds(10));
  EXPECT_EQ(p->timeout, absl::Milliseconds(1050));  // budget 50 + 1000
  EXPECT_EQ(p->deadline_ms, 50);
}

TEST(OptionsTest, NonsenseRatesAreRejected) {
  for (double rate : {-1.0, 1e9, std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::quiet_NaN()}) {
    absl::StatusOr<Plan> p = Validate(RateFlags(rate));
    ASSERT_FALSE(p.ok()) << rate;
    EXPECT_NE(p.status().message().find("--rate"), std::string::npos)
        << p.status();
  }
}

TEST(OptionsTest, ExactlyOneMode) {
  Flags none;
  EXPECT_FALSE(Validate(none).ok());
  Flags both = RateFlags(10);
  both.concurrency = 4;
  EXPECT_FALSE(Validate(both).ok());
  Flags sweep_and_rate = RateFlags(10);
  sweep_and_rate.sweep = "10:20:5";
  EXPECT_FALSE(Validate(sweep_and_rate).ok());
}

TEST(OptionsTest, BadFlagValuesNameTheFlag) {
  struct Case {
    void (*mutate)(Flags&);
    const char* flag;
  } cases[] = {
      {[](Flags& f) { f.duration = -3; }, "--duration"},
      {[](Flags& f) { f.docs = "0"; }, "--docs"},
      {[](Flags& f) { f.budget_ms = -1; }, "--budget_ms"},
      {[](Flags& f) { f.target = "localhost"; }, "--target"},
      {[](Flags& f) { f.target = "127.0.0.1:99999"; }, "--target"},
      {[](Flags& f) { f.target = "127.0.0.1:http"; }, "--target"},
      {[](Flags& f) { f.arrival = "bursty"; }, "--arrival"},
      {[](Flags& f) { f.channels = 0; }, "--channels"},
      {[](Flags& f) { f.synthetic = "10"; }, "--synthetic"},
      {[](Flags& f) {
         f.profile = "2x10s";
         f.duration = 5;
       },
       "--profile"},
      {[](Flags& f) { f.profile = "2 for 10s"; }, "--profile"},
      {[](Flags& f) { f.warmup = -1; }, "--warmup"},
      {[](Flags& f) {
         f.rate = 0.01;
         f.duration = 5;
       },
       "--rate"},
  };
  for (const Case& c : cases) {
    Flags f = RateFlags(10);
    c.mutate(f);
    absl::StatusOr<Plan> p = Validate(f);
    ASSERT_FALSE(p.ok()) << c.flag;
    EXPECT_TRUE(absl::IsInvalidArgument(p.status()));
    EXPECT_NE(p.status().message().find(c.flag), std::string::npos)
        << p.status();
  }
}

TEST(OptionsTest, Sweep) {
  absl::StatusOr<Sweep> s = ParseSweep("20:200:20");
  ASSERT_TRUE(s.ok());
  std::vector<double> rates = s->Rates();
  ASSERT_EQ(rates.size(), 10u);
  EXPECT_DOUBLE_EQ(rates.front(), 20);
  EXPECT_DOUBLE_EQ(rates.back(), 200);
  EXPECT_EQ(ParseSweep("0.1:0.3:0.1")->Rates().size(),
            3u);  // float steps include STOP
  for (const char* bad :
       {"", "10:20", "10:5:1", "0:10:1", "10:20:0", "10:20:-1", "a:b:c",
        "1:1e9:1", "1:100000:1", "nan:10:1"}) {
    EXPECT_FALSE(ParseSweep(bad).ok()) << bad;
  }
  Flags f;
  f.sweep = "10:30:10";
  f.budget_ms = 0;
  EXPECT_FALSE(Validate(f).ok());  // no SLO to sweep against
  f.slo_p99_ms = 40;
  absl::StatusOr<Plan> p = Validate(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->mode, Plan::Mode::kSweep);
  EXPECT_EQ(p->slo_p99_ms, 40);
}

TEST(OptionsTest, ProfileSetsSegments) {
  Flags f = RateFlags(100);
  f.profile = "0.5x10s,2x10s,0.5x10s";
  absl::StatusOr<Plan> p = Validate(f);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->segments.size(), 3u);
  EXPECT_EQ(p->segments[1].rate_rps, 200);
  EXPECT_EQ(p->segments[2].length, absl::Seconds(10));
}

TEST(OptionsTest, TargetForms) {
  EXPECT_TRUE(ValidateTarget("127.0.0.1:50051").ok());
  EXPECT_TRUE(ValidateTarget("localhost:1").ok());
  EXPECT_TRUE(ValidateTarget("[::1]:8080").ok());
  EXPECT_TRUE(ValidateTarget("unix:/tmp/s.sock").ok());
  EXPECT_FALSE(ValidateTarget("::1:8080").ok());
  EXPECT_FALSE(ValidateTarget(":8080").ok());
  EXPECT_FALSE(ValidateTarget("host:0").ok());
}

}  // namespace
}  // namespace fastrel::loadtest
