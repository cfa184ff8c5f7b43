// Bad-input behaviour of the fastrel-compile and fastrel-eval binaries: each
// error exits non-zero with a message naming the problem, and nothing is
// left at (or beside) --output.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/model/compiled_model.h"
#include "engine/model/model_config.h"
#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

constexpr char kCompile[] = FASTREL_BINARY_DIR "/bin/fastrel-compile";
constexpr char kEval[] = FASTREL_BINARY_DIR "/bin/fastrel-eval";
constexpr char kSearch[] = FASTREL_BINARY_DIR "/bin/fastrel-search-variants";
constexpr char kExport[] = FASTREL_BINARY_DIR "/bin/fastrel-export-hf";
constexpr char kDemo[] = FASTREL_SOURCE_DIR "/models/demo";
constexpr char kDemoCompiled[] = FASTREL_SOURCE_DIR "/models/demo-4x1-80";

struct Result {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

Result RunCommand(const std::string& cmd) {
  Result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class ToolErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/fastrel_compile_test";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    calib_ = dir_ + "/calib.tsv";
    std::ofstream(calib_) << "query\tdocument\nfoo\tbar baz\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs fastrel-compile with `flags`; expects failure mentioning `needle`
  // and an empty work directory afterwards (apart from the calibration file).
  void ExpectCompileError(const std::string& flags, const std::string& needle) {
    const std::string out = dir_ + "/out";
    Result r = RunCommand(std::string(kCompile) + " --input " + kDemo +
                          " --output " + out + " " + flags);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos)
        << "want \"" << needle << "\" in: " << r.output;
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_TRUE(e.path().filename() == "calib.tsv" ||
                  e.path().filename() == "bad.tsv")
          << "left behind: " << e.path();
    }
  }

  std::string dir_, calib_;
};

TEST_F(ToolErrorsTest, SparsityOutsideOpenInterval) {
  for (const char* s : {"0", "1", "1.5", "-0.2"}) {
    ExpectCompileError(std::string("--pattern 4x1 --sparsity ") + s +
                           " --calibration " + calib_,
                       "sparsity");
  }
}

TEST_F(ToolErrorsTest, SparsityWithDensePatternOrDisagreeingNofM) {
  ExpectCompileError("--pattern dense --sparsity 0.5 --calibration " + calib_,
                     "--sparsity does not apply");
  ExpectCompileError("--pattern 2:4 --sparsity 0.8 --calibration " + calib_,
                     "sparsity");
}

TEST_F(ToolErrorsTest, UnknownPatternAndMethod) {
  ExpectCompileError("--pattern 3x3 --sparsity 0.5 --calibration " + calib_,
                     "3x3");
  ExpectCompileError(
      "--pattern 4x1 --sparsity 0.5 --method random --calibration " + calib_,
      "random");
  ExpectCompileError(
      "--pattern 4x1 --sparsity 0.5 --quantize int4 --calibration " + calib_,
      "int4");
}

TEST_F(ToolErrorsTest, BadCalibrationKeepRatios) {
  const std::string cal =
      "--pattern 4x1 --sparsity 0.8 --calibration " + calib_;
  // Not monotone, wrong layer count, out of range, not a number, empty item.
  ExpectCompileError(cal + " --calibration_keep_ratios '1;0.5,0.6,0.4,0.3'",
                     "non-increasing");
  ExpectCompileError(cal + " --calibration_keep_ratios '0.7,0.5'",
                     "the model has 4 layers");
  ExpectCompileError(cal + " --calibration_keep_ratios '1;1.2,1,1,1'",
                     "must be in (0, 1]");
  ExpectCompileError(cal + " --calibration_keep_ratios '1;0.7,x,0.4,0.3'",
                     "--calibration_keep_ratios");
  ExpectCompileError(cal + " --calibration_keep_ratios '1;'",
                     "--calibration_keep_ratios");
}

TEST_F(ToolErrorsTest, BadLayerSparsity) {
  const std::string cal =
      "--pattern 4x1 --sparsity 0.8 --calibration " + calib_;
  ExpectCompileError(cal + " --layer_sparsity 'qk=0.5'",
                     "unknown linear kind 'qk'");
  ExpectCompileError(cal + " --layer_sparsity 'query=1'",
                     "must be in the open interval (0, 1)");
  ExpectCompileError(cal + " --layer_sparsity 'query=0'",
                     "must be in the open interval (0, 1)");
  ExpectCompileError(cal + " --layer_sparsity 'query=0.5,query=0.6'",
                     "more than once");
  ExpectCompileError(cal + " --layer_sparsity 'x.query=0.5'",
                     "layer index 'x'");
  // The demo model has 4 layers: index 4 is checked after loading it.
  ExpectCompileError(cal + " --layer_sparsity '4.query=0.5'",
                     "layer 4 does not exist (the model has 4 layers");
  // Patterns whose sparsity is implied (or absent) take no overrides.
  ExpectCompileError(
      "--pattern 2:4 --calibration " + calib_ + " --layer_sparsity 'query=0.6'",
      "--layer_sparsity needs --pattern 4x1");
  ExpectCompileError("--pattern dense --calibration " + calib_ +
                         " --layer_sparsity 'query=0.6'",
                     "--layer_sparsity needs --pattern 4x1");
}

TEST_F(ToolErrorsTest, BadMaskFromSource) {
  const std::string cal = "--calibration " + calib_ + " --mask_from_source";
  const std::string want = "--mask_from_source needs --method obs";
  ExpectCompileError(cal + " --pattern 4x1 --sparsity 0.8", want);
  ExpectCompileError(cal + " --pattern 4x1 --layer_sparsity 'query=0.5'", want);
  ExpectCompileError(cal + " --pattern 4x1 --method magnitude", want);
  ExpectCompileError(cal + " --pattern 2:4", want);
  ExpectCompileError(cal + " --pattern dense",
                     "--mask_from_source needs a pruning --pattern");
}

TEST_F(ToolErrorsTest, ExportHfErrors) {
  Result r = RunCommand(std::string(kExport));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--model and --output are required"),
            std::string::npos)
      << r.output;
  r = RunCommand(std::string(kExport) + " --model " + dir_ + "/nope --output " +
                 dir_ + "/out");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(dir_ + "/nope"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/out"));
}

// The fine-tuning round trip (tools/finetune) without the training: the
// bundled compiled model exported by fastrel-export-hf and compiled again
// with --mask_from_source keeps every linear's 4x1 mask exactly, and records
// the bundled model's base (models/demo) as its base.
TEST_F(ToolErrorsTest, MaskFromSourceKeepsTheExportedMask) {
  const std::string exported = dir_ + "/exported", out = dir_ + "/out";
  Result r = RunCommand(std::string(kExport) + " --model " + kDemoCompiled +
                        " --output " + exported);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(std::string(kCompile) + " --input " + exported + " --output " +
                 out + " --pattern 4x1 --mask_from_source --calibration " +
                 calib_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto config = fastrel::ModelConfig::FromFile(out + "/config.json");
  ASSERT_TRUE(config.ok());
  auto bundled = fastrel::ReadCompiledModel(kDemoCompiled, *config);
  auto again = fastrel::ReadCompiledModel(out, *config);
  ASSERT_TRUE(bundled.ok() && again.ok()) << again.status();
  // The lineage root (the bundled model is itself a fine-tuned copy's
  // compile, so its base).
  EXPECT_EQ(again->info.base_source_checksum(),
            bundled->info.base_source_checksum());
  EXPECT_NE(again->info.source_checksum(), bundled->info.source_checksum());
  EXPECT_NEAR(again->info.target_sparsity(), bundled->info.encoder_sparsity(),
              1e-9);
  ASSERT_EQ(again->info.layers_size(), bundled->info.layers_size());
  for (int i = 0; i < bundled->info.layers_size(); ++i) {
    EXPECT_EQ(again->info.layers(i).sparsity(),
              bundled->info.layers(i).sparsity())
        << bundled->info.layers(i).name();
  }
  ASSERT_EQ(again->int8_linears.size(), bundled->int8_linears.size());
  for (const auto& [key, w] : bundled->int8_linears) {
    const fastrel::Int8LinearWeights& v = again->int8_linears.at(key);
    ASSERT_TRUE(w.sparse.has_value() && v.sparse.has_value());
    const std::vector<int8_t> a = w.sparse->ToDense(), b = v.sparse->ToDense();
    int64_t differ = 0;
    for (int o = 0; o < w.out; o += 4) {
      for (int i = 0; i < w.in; ++i) {
        bool ka = false, kb = false;
        for (int k = o; k < o + 4; ++k) {
          ka |= a[k * w.in + i] != 0;
          kb |= b[k * w.in + i] != 0;
        }
        differ += ka != kb;
      }
    }
    EXPECT_EQ(differ, 0) << "layer " << key.first << " kind " << key.second;
  }
}

// A real (magnitude, 1-row calibration: fast) compile with overrides: every
// linear's recorded format and actual sparsity follow the precedence rules,
// and the recorded overall sparsity is the parameter-weighted mean.
TEST_F(ToolErrorsTest, LayerSparsityRecordedInMetadata) {
  const std::string out = dir_ + "/out";
  const std::string spec = "query=0.5,key=dense,3.*=0.9,1.intermediate=0.7";
  Result r = RunCommand(std::string(kCompile) + " --input " + kDemo +
                        " --output " + out +
                        " --pattern 4x1 --sparsity 0.8 --method magnitude "
                        "--calibration " +
                        calib_ + " --layer_sparsity '" + spec + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  absl::StatusOr<fastrel::v1::CompiledModelInfo> info =
      fastrel::ReadCompiledModelInfo(out);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->layer_sparsity(), spec);
  EXPECT_DOUBLE_EQ(info->target_sparsity(), 0.8);
  ASSERT_EQ(info->layers_size(), 24);
  // Demo model: hidden 256, intermediate 1024. 4x1 prunes
  // llround(s * inputs) input columns per 4-row group.
  constexpr double kH = 256, kI = 1024;
  std::map<std::string, std::pair<std::string, double>> want = {
      {"layer.0.attention.self.query", {"sparse_4x1_int8", 128 / kH}},
      {"layer.0.attention.self.key", {"dense_int8", 0}},
      {"layer.0.attention.self.value", {"sparse_4x1_int8", 205 / kH}},
      {"layer.0.output.dense", {"sparse_4x1_int8", 819 / kI}},
      {"layer.1.intermediate.dense", {"sparse_4x1_int8", 179 / kH}},
      {"layer.2.intermediate.dense", {"sparse_4x1_int8", 205 / kH}},
      {"layer.2.attention.self.key", {"dense_int8", 0}},
      // 3.* beats the kind-wide query / key rules.
      {"layer.3.attention.self.query", {"sparse_4x1_int8", 230 / kH}},
      {"layer.3.attention.self.key", {"sparse_4x1_int8", 230 / kH}},
      {"layer.3.output.dense", {"sparse_4x1_int8", 922 / kI}},
  };
  double zeros = 0, weights = 0;
  for (const fastrel::v1::CompiledLayerInfo& li : info->layers()) {
    const bool ffn = absl::StrContains(li.name(), "intermediate") ||
                     (absl::StrContains(li.name(), ".output.dense") &&
                      !absl::StrContains(li.name(), "attention"));
    const double n = ffn ? kH * kI : kH * kH;
    zeros += n * li.sparsity();
    weights += n;
    auto it = want.find(li.name());
    if (it == want.end()) continue;
    EXPECT_EQ(li.format(), it->second.first) << li.name();
    EXPECT_DOUBLE_EQ(li.sparsity(), it->second.second) << li.name();
    want.erase(it);
  }
  EXPECT_TRUE(want.empty()) << "missing layer " << want.begin()->first;
  EXPECT_NEAR(info->encoder_sparsity(), zeros / weights, 1e-12);
  // By hand (per layer, in H^2 units of zeros): layers 0 and 2
  // 128/256 + 0 + 2 * 205/256 + 4 * 205/256 + 4 * 819/1024 = 8.5039,
  // layer 1 8.0977 (FFN-in 179/256), layer 3 4 * 230/256 + 4 * 230/256 +
  // 4 * 922/1024 = 10.7891; / 48 H^2 = 0.7478. Not the uniform 0.80.
  EXPECT_NEAR(info->encoder_sparsity(), 0.7478, 1e-4);
  EXPECT_NE(r.output.find("overall encoder sparsity"), std::string::npos)
      << r.output;
}

TEST_F(ToolErrorsTest, BadCalibrationRowsNameTheLine) {
  const std::string bad = dir_ + "/bad.tsv";
  std::ofstream(bad) << "query\tdocument\tlabel\nq1\td1\t1\nonly-one-field\n";
  ExpectCompileError("--pattern 4x1 --sparsity 0.5 --calibration " + bad,
                     "bad.tsv");
  ExpectCompileError(
      "--pattern 4x1 --sparsity 0.5 --calibration " + dir_ + "/missing.tsv",
      "missing.tsv");
}

TEST_F(ToolErrorsTest, BadInputDirectory) {
  Result r = RunCommand(
      std::string(kCompile) + " --input " + dir_ + "/nope --output " + dir_ +
      "/out --pattern 4x1 --sparsity 0.5 --calibration " + calib_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/out"));
}

TEST_F(ToolErrorsTest, EvalUnknownVariantAndMissingData) {
  Result r = RunCommand(std::string(kEval) + " --model " + kDemo + " --data " +
                        calib_ + " --variant nope");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no variant \"nope\""), std::string::npos)
      << r.output;
  r = RunCommand(std::string(kEval) + " --model " + kDemo + " --data " + dir_ +
                 "/missing.tsv");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.tsv"), std::string::npos) << r.output;
}

// A bad --output is reported before the search runs (it takes minutes), not
// after it when the result cannot be written.
TEST_F(ToolErrorsTest, SearchVariantsMissingOutputDirectoryFailsFast) {
  const std::string out = dir_ + "/no/such/dir";
  Result r = RunCommand(std::string(kSearch) + " --model " + kDemo +
                        " --search_data " + calib_ + " --output " + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(out + " is not an existing directory"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("eval "), std::string::npos) << r.output;
}

}  // namespace
