// Bad-input behaviour of the fastrel-compile and fastrel-eval binaries: each
// error exits non-zero with a message naming the problem, and nothing is
// left at (or beside) --output.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

constexpr char kCompile[] = FASTREL_BINARY_DIR "/bin/fastrel-compile";
constexpr char kEval[] = FASTREL_BINARY_DIR "/bin/fastrel-eval";
constexpr char kDemo[] = FASTREL_SOURCE_DIR "/models/demo";

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

}  // namespace
