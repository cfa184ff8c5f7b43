#include "engine/runtime/int8_linear.h"

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "engine/runtime/fp32_linear.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

// Normalized MSE bound of an int8 op against the fp32 op on the SAME
// dequantized weights: only activation quantization differs. 8-bit per-token
// rounding of Gaussian rows gives ~(3.5 / 127)^2 / 12 ~ 6e-5 relative noise
// per input; 1e-3 leaves margin for sums of products and the GELU slope,
// while a wrong scale, zero point or index is O(1).
constexpr double kMaxNmse = 1e-3;
// Static per-tensor scales clip nothing here (scale = max |x| / 127 over the
// whole input) but quantize small rows coarsely: looser bound.
constexpr double kMaxNmseStatic = 4e-3;

enum class Fmt { kDense, k4x1, k2of4, k1of4 };

struct Layer {
  DenseParams fp32;  // dequantized weights
  Int8LinearWeights int8;
};

// A random out x in int8 layer conforming to `fmt` (about half the weights
// pruned for 4x1), its fp32 twin with W = scale * q.
Layer RandomLayer(Fmt fmt, int in, int out, std::mt19937& rng) {
  std::uniform_int_distribution<int> qd(-127, 127);
  std::uniform_real_distribution<float> sd(0.001f, 0.01f);
  std::bernoulli_distribution keep(0.5);
  std::vector<int8_t> q(static_cast<size_t>(in) * out);
  for (int n = 0; n < out; ++n) {
    for (int k = 0; k < in; ++k) q[n * in + k] = static_cast<int8_t>(qd(rng));
  }
  if (fmt == Fmt::k4x1) {
    for (int rb = 0; rb < out / 4; ++rb) {
      for (int k = 0; k < in; ++k) {
        if (keep(rng)) continue;
        for (int j = 0; j < 4; ++j) q[(4 * rb + j) * in + k] = 0;
      }
    }
  } else if (fmt == Fmt::k2of4 || fmt == Fmt::k1of4) {
    const int kept = fmt == Fmt::k2of4 ? 2 : 1;
    for (int n = 0; n < out; ++n) {
      for (int g = 0; g < in / 4; ++g) {
        std::vector<int> idx = {0, 1, 2, 3};
        std::shuffle(idx.begin(), idx.end(), rng);
        for (int i = kept; i < 4; ++i) q[n * in + 4 * g + idx[i]] = 0;
      }
    }
  }
  Layer l;
  l.int8.in = l.fp32.in = in;
  l.int8.out = l.fp32.out = out;
  l.int8.scales.resize(out);
  l.fp32.bias.resize(out);
  for (int n = 0; n < out; ++n) {
    l.int8.scales[n] = sd(rng);
    l.fp32.bias[n] = sd(rng) * 10;
  }
  l.int8.bias = l.fp32.bias;
  l.fp32.weight.resize(q.size());
  for (int n = 0; n < out; ++n) {
    for (int k = 0; k < in; ++k) {
      l.fp32.weight[n * in + k] = l.int8.scales[n] * q[n * in + k];
    }
  }
  if (fmt == Fmt::kDense) {
    l.int8.dense_q = q;
  } else {
    const SparsePattern p = fmt == Fmt::k4x1    ? SparsePattern::kBlock4x1
                            : fmt == Fmt::k2of4 ? SparsePattern::k2of4
                                                : SparsePattern::k1of4;
    auto packed = PackedSparseInt8::Pack(p, q.data(), out, in);
    EXPECT_TRUE(packed.ok()) << packed.status();
    l.int8.sparse.emplace(std::move(*packed));
  }
  return l;
}

double Nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * static_cast<double>(got[i] - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return num / den;
}

struct Case {
  Fmt fmt;
  ActQuantScheme scheme;
};

class Int8LinearTest : public ::testing::TestWithParam<Case> {};

TEST_P(Int8LinearTest, MatchesFp32OnDequantizedWeightsForEveryEpilogue) {
  const Case c = GetParam();
  std::mt19937 rng(42);
  const int in = 96, out = 64;
  Layer layer = RandomLayer(c.fmt, in, out, rng);
  std::normal_distribution<float> xd(0.2f, 1.0f);
  for (int rows : {1, 17, 40}) {
    std::vector<float> x(static_cast<size_t>(rows) * in);
    for (float& v : x) v = xd(rng);
    std::vector<float> residual(static_cast<size_t>(rows) * out);
    for (float& v : residual) v = xd(rng);
    float amax = 0;
    for (float v : x) amax = std::max(amax, std::abs(v));
    Int8LinearWeights w = layer.int8;
    w.static_act_scale = amax / 127;
    auto op = NewInt8Linear(std::move(w), c.scheme);
    ASSERT_TRUE(op.ok()) << op.status();
    auto ref = NewFp32Linear(layer.fp32);
    ASSERT_TRUE(ref.ok()) << ref.status();
    auto st = (*op)->NewState();
    auto ref_st = (*ref)->NewState();
    EXPECT_EQ((*op)->in_features(), in);
    EXPECT_EQ((*op)->out_features(), out);
    for (Activation act :
         {Activation::kNone, Activation::kGelu, Activation::kTanh}) {
      for (bool with_residual : {false, true}) {
        LinearEpilogue epi;
        epi.activation = act;
        epi.residual = with_residual ? residual.data() : nullptr;
        std::vector<float> got(static_cast<size_t>(rows) * out, -1);
        std::vector<float> want(got.size(), -2);
        ASSERT_TRUE(
            (*op)->Forward(x.data(), rows, got.data(), epi, st.get()).ok());
        ASSERT_TRUE(
            (*ref)
                ->Forward(x.data(), rows, want.data(), epi, ref_st.get())
                .ok());
        const double bound = c.scheme == ActQuantScheme::kStaticSymmetric
                                 ? kMaxNmseStatic
                                 : kMaxNmse;
        EXPECT_LT(Nmse(got, want), bound)
            << (*op)->Describe() << " rows " << rows << " act "
            << static_cast<int>(act) << " residual " << with_residual;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, Int8LinearTest,
    ::testing::Values(Case{Fmt::kDense, ActQuantScheme::kDynamicSymmetric},
                      Case{Fmt::kDense, ActQuantScheme::kDynamicAsymmetric},
                      Case{Fmt::kDense, ActQuantScheme::kStaticSymmetric},
                      Case{Fmt::k4x1, ActQuantScheme::kDynamicSymmetric},
                      Case{Fmt::k4x1, ActQuantScheme::kDynamicAsymmetric},
                      Case{Fmt::k4x1, ActQuantScheme::kStaticSymmetric},
                      Case{Fmt::k2of4, ActQuantScheme::kDynamicSymmetric},
                      Case{Fmt::k2of4, ActQuantScheme::kDynamicAsymmetric},
                      Case{Fmt::k1of4, ActQuantScheme::kDynamicSymmetric},
                      Case{Fmt::k1of4, ActQuantScheme::kStaticSymmetric}));

TEST(Int8LinearTest, ZeroRowsIsANoOp) {
  std::mt19937 rng(1);
  Layer layer = RandomLayer(Fmt::k4x1, 32, 16, rng);
  auto op = NewInt8Linear(layer.int8, ActQuantScheme::kDynamicSymmetric);
  ASSERT_TRUE(op.ok());
  auto st = (*op)->NewState();
  EXPECT_TRUE((*op)->Forward(nullptr, 0, nullptr, {}, st.get()).ok());
}

TEST(Int8LinearTest, RejectsInconsistentWeights) {
  std::mt19937 rng(2);
  Layer layer = RandomLayer(Fmt::kDense, 32, 16, rng);
  Int8LinearWeights w = layer.int8;
  w.scales.pop_back();
  EXPECT_EQ(NewInt8Linear(w, ActQuantScheme::kDynamicSymmetric).status().code(),
            absl::StatusCode::kInvalidArgument);
  w = layer.int8;
  w.scales[3] = 0;
  EXPECT_EQ(NewInt8Linear(w, ActQuantScheme::kDynamicSymmetric).status().code(),
            absl::StatusCode::kInvalidArgument);
  w = layer.int8;
  w.dense_q.resize(10);
  EXPECT_EQ(NewInt8Linear(w, ActQuantScheme::kDynamicSymmetric).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Static scheme without a calibrated scale.
  EXPECT_EQ(NewInt8Linear(layer.int8, ActQuantScheme::kStaticSymmetric)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Int8LinearTest, FactoryBuildsInt8ForListedLayersAndFp32Otherwise) {
  std::mt19937 rng(3);
  Layer layer = RandomLayer(Fmt::k4x1, 32, 16, rng);
  auto layers = std::make_shared<std::map<LinearKey, Int8LinearWeights>>();
  (*layers)[KeyOf({0, LinearKind::kQuery})] = layer.int8;
  LinearFactory f =
      Int8LinearFactory(layers, ActQuantScheme::kDynamicSymmetric);
  auto q = f({0, LinearKind::kQuery}, layer.fp32);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_NE((*q)->Describe().find("4x1"), std::string::npos);
  auto k = f({0, LinearKind::kKey}, layer.fp32);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_NE((*k)->Describe().find("fp32"), std::string::npos);
  // Shape mismatch names the layer.
  (*layers)[KeyOf({1, LinearKind::kValue})] = layer.int8;
  DenseParams other = layer.fp32;
  other.out = 8;
  auto bad = f({1, LinearKind::kValue}, other);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("layer 1 value"), std::string::npos);
}

TEST(ActQuantSchemeTest, ParsesNames) {
  for (auto s :
       {ActQuantScheme::kDynamicSymmetric, ActQuantScheme::kDynamicAsymmetric,
        ActQuantScheme::kStaticSymmetric}) {
    auto p = ParseActQuantScheme(ActQuantSchemeName(s));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, s);
  }
  EXPECT_FALSE(ParseActQuantScheme("per_channel").ok());
}

}  // namespace
}  // namespace fastrel
