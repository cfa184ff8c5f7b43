#include "loadtest/report.h"

#include "gtest/gtest.h"
#include "loadtest/svg_plot.h"

namespace fastrel::loadtest {
namespace {

RunResult SampleRun(double rate, int64_t latency_us) {
  RunResult r;
  r.mode = "open";
  r.offered_rps = rate;
  r.window_s = r.elapsed_s = r.wall_s = 2;
  r.warmup_s = 1;
  r.deadline_ms = 50;
  r.sent = 10;
  r.ok = 8;
  r.errors = 2;
  r.errors_by_status["UNAVAILABLE"] = 2;
  r.error_examples["UNAVAILABLE"] = "connection refused";
  r.docs_sent = 40;
  r.docs_ok = 32;
  r.good_requests = 6;
  r.good_docs = 24;
  for (int i = 0; i < 8; ++i) r.latency_us.Record(latency_us + i * 1000);
  r.variants["full"] = 8;
  r.series.resize(3);
  r.series[1].ok = 8;
  r.series[1].latency_us.Record(latency_us);
  return r;
}

TEST(ReportTest, JsonHasTheScriptedKeys) {
  nlohmann::json j = RunToJson(SampleRun(20, 10000), true);
  for (const char* key :
       {"p50_ms", "p99_ms", "throughput_rps", "goodput_docs_per_s", "sent",
        "ok", "errors", "p90_ms", "p999_ms", "max_ms",
        "throughput_docs_per_s"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["sent"], 10);
  EXPECT_DOUBLE_EQ(j["throughput_rps"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["goodput_docs_per_s"].get<double>(), 12.0);
  EXPECT_DOUBLE_EQ(j["sent_rps"].get<double>(), 5.0);
  EXPECT_EQ(j["errors_by_status"]["UNAVAILABLE"], 2);
  EXPECT_EQ(j["series"].size(), 3u);
}

TEST(ReportTest, SloAndCsv) {
  RunResult fast = SampleRun(20, 10000), slow = SampleRun(40, 90000);
  fast.errors = 0;
  fast.sent = 8;
  EXPECT_TRUE(MeetsSlo(fast, 50, 0.01));
  EXPECT_FALSE(MeetsSlo(slow, 50, 0.01));
  std::string csv = RunsToCsv({fast, slow}, 50, 0.01);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_EQ(csv.rfind("offered_rps,", 0), 0u);
}

TEST(ReportTest, SelfCheckFlagsClientLag) {
  RunResult r = SampleRun(20, 10000);
  EXPECT_TRUE(SelfCheckWarnings(r).empty());
  for (int i = 0; i < 10; ++i) r.lag_us.Record(20000);
  ASSERT_FALSE(SelfCheckWarnings(r).empty());
  EXPECT_NE(SelfCheckWarnings(r)[0].find("client"), std::string::npos);
}

TEST(ReportTest, SvgIsWellFormedEnough) {
  std::string sweep =
      SweepSvg({SampleRun(20, 10000), SampleRun(40, 30000)}, 50, 20, "t<1>");
  EXPECT_EQ(sweep.rfind("<?xml", 0), 0u);
  EXPECT_NE(sweep.find("</svg>"), std::string::npos);
  EXPECT_NE(sweep.find("t&lt;1&gt;"), std::string::npos);
  EXPECT_NE(sweep.find("SLO p99 50 ms"), std::string::npos);
  EXPECT_EQ(sweep.find("nan"), std::string::npos);
  std::string series = TimeSeriesSvg(SampleRun(20, 10000), "run");
  EXPECT_NE(series.find("warm-up"), std::string::npos);
  EXPECT_EQ(series.find("nan"), std::string::npos);
  // An empty run still renders.
  EXPECT_NE(TimeSeriesSvg(RunResult{}, "empty").find("</svg>"),
            std::string::npos);
}

}  // namespace
}  // namespace fastrel::loadtest
