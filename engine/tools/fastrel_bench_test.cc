// fastrel-bench --synthetic end to end: runs the binary on a BERT-base-shaped
// random model in fp32, dense int8 and 4x1 sparse int8 (one tiny batch each,
// so the path cannot rot), checks the --cost_model shape counts and caps,
// and checks its bad-input exits.
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

constexpr char kBench[] = FASTREL_BINARY_DIR "/bin/fastrel-bench";

struct Result {
  int exit_code = -1;
  std::string out;  // stdout (+ stderr with merge_stderr)
};

Result RunBench(const std::string& flags, bool merge_stderr) {
  Result r;
  const std::string cmd =
      std::string(kBench) + " " + flags + (merge_stderr ? " 2>&1" : "");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(FastrelBenchSyntheticTest, BertBaseFp32DenseInt8AndSparse) {
  const Result r = RunBench(
      "--synthetic bert-base --synthetic_format fp32,dense-int8,4x1:0.8 "
      "--batch 2 --batches 1 --warmup 0 --workers -1 --json",
      /*merge_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.contains("results")) << r.out;
  const nlohmann::json& res = j["results"];
  ASSERT_EQ(res.size(), 3u);
  const char* formats[] = {"fp32", "dense-int8", "4x1:0.8"};
  const char* encoders[] = {"fp32", "synthetic dense-int8",
                            "synthetic 4x1:0.8"};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(formats[i]);
    EXPECT_EQ(res[i]["model"], "synthetic bert-base");
    EXPECT_EQ(res[i]["format"], formats[i]);
    EXPECT_EQ(res[i]["encoder"].get<std::string>().rfind(encoders[i], 0), 0u)
        << res[i]["encoder"];
    EXPECT_EQ(res[i]["batches"], 1);
    EXPECT_GT(res[i]["pairs_per_s_cpu"].get<double>(), 0);
    EXPECT_GT(res[i]["build_s"].get<double>(), 0);
    if (i > 0) {
      EXPECT_TRUE(res[i].contains("speedup_vs_first_cpu"));
    }
  }
}

// --cost_model: with no budget, calibration times exactly --cost_min_shapes
// shapes per variant (default 40; a quarter held out), and the fresh shapes
// get their own caps.
TEST(FastrelBenchSyntheticTest, CostModelShapeCountsAndFreshCaps) {
  const std::string common =
      "--synthetic tiny --batch 2 --batches 1 --warmup 0 --workers -1 "
      "--cost_model --cost_budget_ms 0 --cost_shapes 3 "
      "--cost_max_batch_tokens 64 --json ";
  for (const auto& [flags, shapes] :
       {std::pair<std::string, int>{"--cost_min_shapes 8", 8},
        std::pair<std::string, int>{"", 40}}) {
    SCOPED_TRACE(flags);
    const Result r = RunBench(common + flags +
                                  " --cost_fresh_max_batch_tokens 512 "
                                  "--cost_fresh_max_sequences 4",
                              /*merge_stderr=*/false);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    const nlohmann::json& cm = j["cost_model"];
    ASSERT_EQ(cm["variants"].size(), 1u) << r.out;
    const nlohmann::json& v = cm["variants"][0];
    EXPECT_EQ(v["fit_shapes"].get<int>() + v["holdout_shapes"].get<int>(),
              shapes);
    EXPECT_EQ(cm["max_batch_tokens"], 64);
    EXPECT_EQ(cm["fresh_max_batch_tokens"], 512);
    EXPECT_EQ(cm["fresh_max_sequences"], 4);
    EXPECT_EQ(cm["fresh_shapes"], 3);
  }
  // Without the fresh caps the fresh shapes use the calibration's.
  const Result r = RunBench(common, /*merge_stderr=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["cost_model"]["fresh_max_batch_tokens"], 64);
  EXPECT_EQ(j["cost_model"]["fresh_max_sequences"], 64);
}

// --interleave: every run is still timed on every batch (its own figures,
// ratios to the first), and the JSON says how the runs were timed.
TEST(FastrelBenchSyntheticTest, InterleavedRuns) {
  for (bool interleave : {true, false}) {
    SCOPED_TRACE(interleave);
    const Result r = RunBench(
        std::string("--synthetic tiny --synthetic_format fp32,dense-int8,"
                    "4x1:0.5 --batch 2 --batches 3 --warmup 1 --workers -1 "
                    "--json") +
            (interleave ? " --interleave" : ""),
        /*merge_stderr=*/false);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    const nlohmann::json& res = j["results"];
    ASSERT_EQ(res.size(), 3u) << r.out;
    for (const nlohmann::json& x : res) {
      EXPECT_EQ(x["interleaved"], interleave);
      EXPECT_EQ(x["batches"], 3);
      EXPECT_GT(x["pairs_per_s_cpu"].get<double>(), 0);
      EXPECT_GT(x["p99_ms"].get<double>(), 0);
    }
    EXPECT_GT(res[2]["speedup_vs_first_cpu"].get<double>(), 0);
  }
}

TEST(FastrelBenchSyntheticTest, BadInputExitsWithUsageError) {
  struct Case {
    const char* flags;
    const char* needle;
  };
  for (const Case& c :
       {Case{"--synthetic bert-base --synthetic_format 4x1", "4x1:S"},
        Case{"--synthetic bert-base --synthetic_format fp32,2:4:0.3",
             "N:M patterns imply"},
        Case{"--synthetic bert-large", "bert-base"},
        Case{"--model " FASTREL_SOURCE_DIR
             "/models/demo --synthetic_format dense-int8",
             "--synthetic_format needs --synthetic"}}) {
    SCOPED_TRACE(c.flags);
    const Result r = RunBench(c.flags, /*merge_stderr=*/true);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << r.out;
  }
}

}  // namespace
