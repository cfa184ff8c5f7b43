#include "engine/compile/obs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/compile/hessian.h"
#include "engine/compile/magnitude.h"
#include "engine/compile/reconstruction.h"
#include "engine/compile/testutil.h"
#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

// OBS must beat magnitude pruning by a clear margin on correlated inputs:
// SparseGPT-style reconstruction typically cuts the layer error by 2-10x
// there (observed ratios are printed by the test). 0.8 leaves room for seed
// noise while still failing if the error propagation or the saliency were
// broken (either makes OBS no better than magnitude).
constexpr double kObsAdvantage = 0.8;
// With nothing pruned and no quantization the sweep propagates zero errors,
// so W comes back up to the fp64 -> fp32 round trip.
constexpr float kUnchangedTol = 1e-6f;

struct Case {
  Pattern pattern;
  std::optional<double> sparsity;
};

std::string CaseName(const Case& c) {
  return absl::StrFormat("%s@%g", PatternName(c.pattern),
                         c.sparsity.value_or(-1));
}

const Case kAllCases[] = {
    {Pattern::kUnstructured, 0.5},  {Pattern::kUnstructured, 0.7},
    {Pattern::kUnstructured, 0.8},  {Pattern::kUnstructured, 0.9},
    {Pattern::k4x1, 0.5},           {Pattern::k4x1, 0.7},
    {Pattern::k4x1, 0.8},           {Pattern::k4x1, 0.9},
    {Pattern::k2of4, std::nullopt}, {Pattern::k1of4, std::nullopt},
};

class ObsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    layer_ = new testing::SyntheticLayer(
        testing::MakeCorrelatedLayer(/*rows=*/128, /*cols=*/256,
                                     /*samples=*/1024, /*seed=*/42));
  }
  static void TearDownTestSuite() {
    delete layer_;
    layer_ = nullptr;
  }
  static double Error(const std::vector<float>& compressed) {
    absl::StatusOr<double> e = RelativeReconstructionError(
        layer_->w, compressed, layer_->rows, layer_->cols, layer_->h);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.value_or(-1.0);
  }
  static testing::SyntheticLayer* layer_;
};

testing::SyntheticLayer* ObsTest::layer_ = nullptr;

TEST_F(ObsTest, MasksConformExactly) {
  for (const Case& c : kAllCases) {
    for (Quantization q : {Quantization::kNone, Quantization::kInt8}) {
      SCOPED_TRACE(CaseName(c));
      absl::StatusOr<ObsResult> r =
          PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h, c.pattern,
                   c.sparsity, {.quantization = q});
      ASSERT_TRUE(r.ok()) << r.status();
      const CompressedLayer& out = r->layer;
      const absl::Status s =
          CheckMask(out.mask, out.rows, out.cols, c.pattern, out.sparsity);
      EXPECT_TRUE(s.ok()) << s;
      for (size_t k = 0; k < out.weight.size(); ++k) {
        if (!out.mask[k]) {
          ASSERT_EQ(out.weight[k], 0.0f);
        }
      }
    }
  }
}

TEST_F(ObsTest, RaggedBlocksStillGiveExactCounts) {
  // K = 100 is not a multiple of the block size; 4x1 needs rows % 4 == 0.
  const testing::SyntheticLayer small =
      testing::MakeCorrelatedLayer(16, 100, 256, 5);
  for (Pattern p : {Pattern::kUnstructured, Pattern::k4x1, Pattern::k2of4}) {
    for (int64_t bs : {32, 100, 128}) {
      std::optional<double> sparsity;
      if (!IsNofM(p)) sparsity = 0.63;
      absl::StatusOr<ObsResult> r =
          PruneObs(small.w, 16, 100, small.h, p, sparsity, {.block_size = bs});
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(CheckMask(r->layer.mask, 16, 100, p, r->layer.sparsity).ok())
          << PatternName(p) << " bs=" << bs;
    }
  }
}

TEST_F(ObsTest, BeatsMagnitudeOnCorrelatedInputs) {
  for (const Case& c : kAllCases) {
    for (Quantization q : {Quantization::kNone, Quantization::kInt8}) {
      SCOPED_TRACE(CaseName(c));
      absl::StatusOr<CompressedLayer> mag = PruneMagnitude(
          layer_->w, layer_->rows, layer_->cols, c.pattern, c.sparsity, q);
      ASSERT_TRUE(mag.ok()) << mag.status();
      absl::StatusOr<ObsResult> obs =
          PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h, c.pattern,
                   c.sparsity, {.quantization = q});
      ASSERT_TRUE(obs.ok()) << obs.status();
      const double mag_err = Error(mag->weight);
      const double obs_err = Error(obs->layer.weight);
      std::printf("%-18s %-5s magnitude %.4f  obs %.4f  ratio %.3f\n",
                  CaseName(c).c_str(),
                  q == Quantization::kInt8 ? "int8" : "fp32", mag_err, obs_err,
                  obs_err / mag_err);
      EXPECT_GT(mag_err, 0.0);
      EXPECT_LT(obs_err, kObsAdvantage * mag_err);
    }
  }
}

TEST_F(ObsTest, NoPruningNoQuantizationKeepsWeights) {
  absl::StatusOr<ObsResult> r =
      PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h,
               Pattern::kUnstructured, 1e-6, {});
  ASSERT_TRUE(r.ok()) << r.status();
  for (size_t k = 0; k < layer_->w.size(); ++k) {
    ASSERT_EQ(r->layer.mask[k], 1);
    ASSERT_NEAR(r->layer.weight[k], layer_->w[k],
                kUnchangedTol * (1.0f + std::abs(layer_->w[k])));
  }
}

TEST_F(ObsTest, Int8OutputsAreConsistent) {
  for (const Case& c : kAllCases) {
    SCOPED_TRACE(CaseName(c));
    absl::StatusOr<ObsResult> r =
        PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h, c.pattern,
                 c.sparsity, {.quantization = Quantization::kInt8});
    ASSERT_TRUE(r.ok()) << r.status();
    const CompressedLayer& out = r->layer;
    ASSERT_EQ(out.qweight.size(), out.weight.size());
    ASSERT_EQ(out.scales.size(), static_cast<size_t>(out.rows));
    for (int64_t row = 0; row < out.rows; ++row) {
      ASSERT_GT(out.scales[row], 0.0f);
      for (int64_t col = 0; col < out.cols; ++col) {
        const size_t k = row * out.cols + col;
        const int q = out.qweight[k];
        ASSERT_GE(q, -127);
        ASSERT_LE(q, 127);
        if (out.mask[k]) {
          ASSERT_EQ(out.weight[k], out.scales[row] * static_cast<float>(q));
        } else {
          ASSERT_EQ(q, 0);
          ASSERT_EQ(out.weight[k], 0.0f);
        }
      }
    }
  }
}

TEST_F(ObsTest, QuantizationOnlyBeatsRoundToNearest) {
  // At ~0 sparsity this is GPTQ: error feedback must beat plain RTN.
  absl::StatusOr<CompressedLayer> rtn =
      PruneMagnitude(layer_->w, layer_->rows, layer_->cols,
                     Pattern::kUnstructured, 1e-6, Quantization::kInt8);
  absl::StatusOr<ObsResult> gptq = PruneObs(
      layer_->w, layer_->rows, layer_->cols, layer_->h, Pattern::kUnstructured,
      1e-6, {.quantization = Quantization::kInt8});
  ASSERT_TRUE(rtn.ok() && gptq.ok());
  const double rtn_err = Error(rtn->weight);
  const double gptq_err = Error(gptq->layer.weight);
  std::printf("int8 only: rtn %.3g  obs %.3g  ratio %.3f\n", rtn_err, gptq_err,
              gptq_err / rtn_err);
  EXPECT_GT(rtn_err, 0.0);
  EXPECT_LT(gptq_err, kObsAdvantage * rtn_err);
}

TEST_F(ObsTest, Deterministic) {
  const ObsOptions options{.quantization = Quantization::kInt8};
  absl::StatusOr<ObsResult> a =
      PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h, Pattern::k4x1,
               0.7, options);
  absl::StatusOr<ObsResult> b =
      PruneObs(layer_->w, layer_->rows, layer_->cols, layer_->h, Pattern::k4x1,
               0.7, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->layer.mask, b->layer.mask);
  EXPECT_EQ(a->layer.qweight, b->layer.qweight);
  EXPECT_EQ(a->layer.weight, b->layer.weight);
  EXPECT_EQ(a->layer.scales, b->layer.scales);
}

// A model fine-tuned with its compiled mask fixed (tools/finetune) comes back
// with the same zeros and changed kept weights: keep_source_zeros must reuse
// exactly that mask and quantize the kept weights. The source zeros here are
// random blocks, so rows and column blocks have uneven counts: choosing a
// mask afresh at the same overall sparsity (exact per-row counts) cannot
// reproduce them.
TEST_F(ObsTest, KeepSourceZerosReusesTheMask) {
  for (Pattern pattern : {Pattern::k4x1, Pattern::kUnstructured}) {
    SCOPED_TRACE(PatternName(pattern));
    const int64_t rows = layer_->rows, cols = layer_->cols;
    const int64_t group = pattern == Pattern::k4x1 ? 4 : 1;
    const std::vector<float> coin = testing::RandomNormal(rows * cols, 23);
    std::vector<float> tuned = layer_->w;
    std::vector<uint8_t> source_mask(tuned.size(), 1);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        // One coin per block: N(0,1) < 0.52 is about 70% pruned.
        if (coin[(r / group) * group * cols + c] < 0.52f) {
          tuned[r * cols + c] = 0.0f;
          source_mask[r * cols + c] = 0;
        }
      }
    }
    ObsOptions keep{.quantization = Quantization::kInt8};
    keep.keep_source_zeros = true;
    absl::StatusOr<ObsResult> kept =
        PruneObs(tuned, rows, cols, layer_->h, pattern, std::nullopt, keep);
    ASSERT_TRUE(kept.ok()) << kept.status();
    EXPECT_EQ(kept->layer.mask, source_mask);
    const double zeros = std::count(source_mask.begin(), source_mask.end(), 0);
    EXPECT_DOUBLE_EQ(kept->layer.sparsity, zeros / source_mask.size());
    int64_t nonzero = 0;
    for (size_t k = 0; k < tuned.size(); ++k) {
      if (!source_mask[k]) {
        ASSERT_EQ(kept->layer.qweight[k], 0);
      } else {
        nonzero += kept->layer.qweight[k] != 0;
      }
    }
    EXPECT_GT(nonzero, 0);
    // The control: a mask chosen afresh at the same sparsity differs.
    absl::StatusOr<ObsResult> fresh =
        PruneObs(tuned, rows, cols, layer_->h, pattern, kept->layer.sparsity,
                 {.quantization = Quantization::kInt8});
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_NE(fresh->layer.mask, source_mask);
  }
}

TEST(ObsDiagonalTest, IsotropicHessianWithOneBlockEqualsMagnitude) {
  // H = 2 I: no correlations, equal saliency denominators, zero propagation
  // into pruned-or-kept decisions; with a single block the OBS mask is the
  // per-row magnitude mask.
  const int64_t rows = 8, cols = 32;
  const std::vector<float> w = testing::RandomNormal(rows * cols, 9);
  std::vector<double> h(cols * cols, 0.0);
  for (int64_t i = 0; i < cols; ++i) h[i * cols + i] = 2.0;
  for (Pattern p : {Pattern::kUnstructured, Pattern::k4x1, Pattern::k2of4}) {
    std::optional<double> s;
    if (!IsNofM(p)) s = 0.6;
    absl::StatusOr<ObsResult> obs =
        PruneObs(w, rows, cols, h, p, s, {.block_size = 32});
    absl::StatusOr<CompressedLayer> mag =
        PruneMagnitude(w, rows, cols, p, s, Quantization::kNone);
    ASSERT_TRUE(obs.ok() && mag.ok());
    EXPECT_EQ(obs->layer.mask, mag->mask) << PatternName(p);
    for (size_t k = 0; k < w.size(); ++k) {
      ASSERT_NEAR(obs->layer.weight[k], mag->weight[k], kUnchangedTol);
    }
  }
}

TEST(ObsSingularTest, DuplicateAndDeadInputs) {
  testing::SyntheticLayer layer = testing::MakeCorrelatedLayer(32, 64, 256, 3);
  // Input 7 duplicates input 3; input 11 is always zero.
  for (int64_t s = 0; s < layer.samples; ++s) {
    layer.x[s * 64 + 7] = layer.x[s * 64 + 3];
    layer.x[s * 64 + 11] = 0.0f;
  }
  HessianAccumulator acc(64);
  ASSERT_TRUE(acc.Add(layer.x, layer.samples).ok());
  const std::vector<double> h = *acc.Hessian();
  for (double percdamp : {0.01, 0.0}) {
    for (Pattern p : {Pattern::kUnstructured, Pattern::k2of4}) {
      std::optional<double> s;
      if (!IsNofM(p)) s = 0.5;
      absl::StatusOr<ObsResult> r =
          PruneObs(layer.w, 32, 64, h, p, s,
                   {.percdamp = percdamp, .quantization = Quantization::kInt8});
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->dead_inputs, 1);
      EXPECT_GE(r->damping_used, percdamp);
      EXPECT_TRUE(CheckMask(r->layer.mask, 32, 64, p, r->layer.sparsity).ok());
      for (int64_t row = 0; row < 32; ++row) {
        ASSERT_EQ(r->layer.weight[row * 64 + 11], 0.0f);
      }
      absl::StatusOr<double> err =
          RelativeReconstructionError(layer.w, r->layer.weight, 32, 64, h);
      ASSERT_TRUE(err.ok()) << err.status();
      EXPECT_TRUE(std::isfinite(*err));
      EXPECT_LT(*err, 1.0);
    }
  }
  // percdamp = 0 with an exactly singular H needs (and gets) a retry.
  std::vector<double> rank_one(16, 2.0);  // x = (1, 1, 1, 1) always
  absl::StatusOr<ObsResult> r =
      PruneObs(std::vector<float>(4 * 4, 1.0f), 4, 4, rank_one,
               Pattern::kUnstructured, 0.5, {.percdamp = 0.0});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->damping_used, 0.0);
}

TEST(ObsSingularTest, HopelesslyIndefiniteHessianIsAClearError) {
  std::vector<double> h = {1.0, 1e9, 1e9, 1.0};
  absl::StatusOr<ObsResult> r = PruneObs({1.0f, 2.0f, 3.0f, 4.0f}, 2, 2, h,
                                         Pattern::kUnstructured, 0.5, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
      << r.status();
  EXPECT_NE(r.status().message().find("not positive definite"),
            std::string_view::npos);
}

TEST(ObsArgsTest, BadArguments) {
  const testing::SyntheticLayer l = testing::MakeCorrelatedLayer(8, 8, 32, 1);
  auto code = [&](Pattern p, std::optional<double> s, ObsOptions o = {}) {
    return PruneObs(l.w, 8, 8, l.h, p, s, o).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double s : {0.0, 1.0, -0.3, nan}) {
    EXPECT_EQ(code(Pattern::kUnstructured, s), kInvalid) << s;
    EXPECT_EQ(code(Pattern::k4x1, s), kInvalid) << s;
  }
  EXPECT_EQ(code(Pattern::kUnstructured, std::nullopt), kInvalid);
  EXPECT_EQ(code(Pattern::k2of4, 0.6), kInvalid);
  EXPECT_EQ(code(Pattern::k2of4, std::nullopt, {.block_size = 6}), kInvalid);
  EXPECT_EQ(code(Pattern::kUnstructured, 0.5, {.block_size = 0}), kInvalid);
  EXPECT_EQ(code(Pattern::kUnstructured, 0.5, {.percdamp = -0.1}), kInvalid);
  EXPECT_EQ(code(Pattern::kUnstructured, 0.5, {.percdamp = nan}), kInvalid);
  // K not a multiple of 4 for N:M, N not a multiple of 4 for 4x1.
  const testing::SyntheticLayer odd = testing::MakeCorrelatedLayer(6, 6, 32, 2);
  EXPECT_EQ(PruneObs(odd.w, 6, 6, odd.h, Pattern::k2of4, std::nullopt)
                .status()
                .code(),
            kInvalid);
  EXPECT_EQ(PruneObs(odd.w, 6, 6, odd.h, Pattern::k1of4, std::nullopt)
                .status()
                .code(),
            kInvalid);
  EXPECT_EQ(PruneObs(odd.w, 6, 6, odd.h, Pattern::k4x1, 0.5).status().code(),
            kInvalid);
  // Size mismatches and non-finite inputs.
  EXPECT_EQ(
      PruneObs(l.w, 8, 8, odd.h, Pattern::kUnstructured, 0.5).status().code(),
      kInvalid);
  EXPECT_EQ(
      PruneObs(l.w, 8, 7, l.h, Pattern::kUnstructured, 0.5).status().code(),
      kInvalid);
  std::vector<double> bad_h = l.h;
  bad_h[9] = nan;
  EXPECT_EQ(
      PruneObs(l.w, 8, 8, bad_h, Pattern::kUnstructured, 0.5).status().code(),
      kInvalid);
  std::vector<float> bad_w = l.w;
  bad_w[0] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(
      PruneObs(bad_w, 8, 8, l.h, Pattern::kUnstructured, 0.5).status().code(),
      kInvalid);
  // keep_source_zeros: the zeros are the sparsity, and N:M has its own.
  ObsOptions keep;
  keep.keep_source_zeros = true;
  EXPECT_EQ(PruneObs(l.w, 8, 8, l.h, Pattern::k4x1, 0.5, keep).status().code(),
            kInvalid);
  EXPECT_EQ(PruneObs(l.w, 8, 8, l.h, Pattern::k2of4, std::nullopt, keep)
                .status()
                .code(),
            kInvalid);
  EXPECT_TRUE(PruneObs(l.w, 8, 8, l.h, Pattern::k4x1, std::nullopt, keep).ok());
}

}  // namespace
}  // namespace fastrel::compile
