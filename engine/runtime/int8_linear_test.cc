#include "engine/runtime/int8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "engine/kernels/int8_types.h"
#include "engine/kernels/quantize.h"
#include "engine/runtime/bert_encoder.h"
#include "engine/runtime/fp32_linear.h"
#include "engine/runtime/testing/random_bert_params.h"
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

// --- The quantized-activation path (LinearOp::ForwardQuantized, quantized
// output). Sharing a quantization must not change a single bit: the shared
// codes are produced by the same quantizer (QuantizeRowsSymmetric) the op
// runs inside Forward, and the fused requantization of the epilogue gathers
// the row max while writing the row and then runs the same row quantizer,
// so every comparison below is exact (tolerance 0), not approximate.

std::vector<float> RandomRows(int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> xd(0.2f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows) * cols);
  for (float& v : x) v = xd(rng);
  return x;
}

class QuantizedPathTest : public ::testing::TestWithParam<Fmt> {};

TEST_P(QuantizedPathTest, ForwardQuantizedEqualsForwardBitwise) {
  std::mt19937 rng(7);
  const int in = 96, out = 64;
  Layer layer = RandomLayer(GetParam(), in, out, rng);
  auto op = NewInt8Linear(layer.int8, ActQuantScheme::kDynamicSymmetric);
  ASSERT_TRUE(op.ok()) << op.status();
  ASSERT_EQ((*op)->input_quant(), ActQuant::kPerTokenSymmetricS8);
  auto st = (*op)->NewState();
  for (int rows : {1, 17, 40}) {
    std::vector<float> x = RandomRows(rows, in, rng);
    std::vector<float> residual = RandomRows(rows, out, rng);
    // Shared codes with a row stride wider than `in` (ld = in + 5).
    const int ld = in + 5;
    std::vector<int8_t> codes(static_cast<size_t>(rows) * ld, 99);
    std::vector<float> scale(rows);
    // An all-zero row (scale 1, codes 0).
    if (rows > 1) std::fill(x.begin() + in, x.begin() + 2 * in, 0.0f);
    ASSERT_TRUE(QuantizeActivations(ActQuant::kPerTokenSymmetricS8, x.data(),
                                    rows, in, in,
                                    {codes.data(), ld, scale.data()})
                    .ok());
    for (Activation act :
         {Activation::kNone, Activation::kGelu, Activation::kTanh}) {
      LinearEpilogue epi;
      epi.activation = act;
      epi.residual = act == Activation::kGelu ? nullptr : residual.data();
      std::vector<float> want(static_cast<size_t>(rows) * out, -1);
      std::vector<float> got(want.size(), -2);
      ASSERT_TRUE(
          (*op)->Forward(x.data(), rows, want.data(), epi, st.get()).ok());
      ASSERT_TRUE((*op)
                      ->ForwardQuantized({codes.data(), ld, scale.data()}, rows,
                                         got.data(), epi, st.get())
                      .ok());
      EXPECT_EQ(got, want) << (*op)->Describe() << " rows " << rows;
    }
  }
}

TEST_P(QuantizedPathTest, QuantizedOutputEqualsQuantizingTheFp32Output) {
  std::mt19937 rng(8);
  const int in = 64, mid = 128, out = 32;
  Layer first = RandomLayer(GetParam(), in, mid, rng);
  Layer second = RandomLayer(GetParam(), mid, out, rng);
  auto op1 = NewInt8Linear(first.int8, ActQuantScheme::kDynamicSymmetric);
  auto op2 = NewInt8Linear(second.int8, ActQuantScheme::kDynamicSymmetric);
  ASSERT_TRUE(op1.ok() && op2.ok());
  ASSERT_TRUE((*op1)->CanQuantizeOutput(ActQuant::kPerTokenSymmetricS8));
  auto st1 = (*op1)->NewState(), st2 = (*op2)->NewState();
  for (int rows : {1, 16, 33}) {
    std::vector<float> x = RandomRows(rows, in, rng);
    std::vector<float> residual = RandomRows(rows, mid, rng);
    for (bool with_residual : {false, true}) {
      // Today's path: fp32 GELU output, quantized by the consumer.
      LinearEpilogue epi;
      epi.activation = Activation::kGelu;
      epi.residual = with_residual ? residual.data() : nullptr;
      std::vector<float> h(static_cast<size_t>(rows) * mid);
      ASSERT_TRUE(
          (*op1)->Forward(x.data(), rows, h.data(), epi, st1.get()).ok());
      std::vector<int8_t> want_q(h.size());
      std::vector<float> want_s(rows);
      ASSERT_TRUE(QuantizeActivations(ActQuant::kPerTokenSymmetricS8, h.data(),
                                      rows, mid, mid,
                                      {want_q.data(), mid, want_s.data()})
                      .ok());
      // Fused: with and without the fp32 output.
      for (bool keep_fp32 : {true, false}) {
        std::vector<int8_t> q(h.size(), 99);
        std::vector<float> qs(rows, -1), h2(h.size(), -3);
        epi.quantize_out = ActQuant::kPerTokenSymmetricS8;
        epi.out_q = {q.data(), mid, qs.data()};
        ASSERT_TRUE((*op1)
                        ->Forward(x.data(), rows,
                                  keep_fp32 ? h2.data() : nullptr, epi,
                                  st1.get())
                        .ok());
        EXPECT_EQ(q, want_q) << (*op1)->Describe() << " rows " << rows;
        EXPECT_EQ(qs, want_s);
        if (keep_fp32) {
          EXPECT_EQ(h2, h);
        }
        epi.quantize_out = ActQuant::kNone;
        // The consumer on the emitted codes == the consumer on fp32 input.
        std::vector<float> y1(static_cast<size_t>(rows) * out, 1);
        std::vector<float> y2(y1.size(), 2);
        ASSERT_TRUE(
            (*op2)->Forward(h.data(), rows, y1.data(), {}, st2.get()).ok());
        ASSERT_TRUE((*op2)
                        ->ForwardQuantized({q.data(), mid, qs.data()}, rows,
                                           y2.data(), {}, st2.get())
                        .ok());
        EXPECT_EQ(y2, y1);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SymmetricFormats, QuantizedPathTest,
                         ::testing::Values(Fmt::kDense, Fmt::k4x1, Fmt::k2of4));

TEST(QuantizedPathTest, OtherSchemesAndFp32KeepTheFp32Path) {
  std::mt19937 rng(9);
  Layer layer = RandomLayer(Fmt::k4x1, 32, 16, rng);
  std::vector<int8_t> q(32, 1);
  std::vector<float> s(1, 1.0f), y(16);
  auto asym = NewInt8Linear(layer.int8, ActQuantScheme::kDynamicAsymmetric);
  auto fp32 = NewFp32Linear(layer.fp32);
  ASSERT_TRUE(asym.ok() && fp32.ok());
  for (const auto* op : {&*asym, &*fp32}) {
    EXPECT_EQ((*op)->input_quant(), ActQuant::kNone);
    auto st = (*op)->NewState();
    EXPECT_EQ((*op)
                  ->ForwardQuantized({q.data(), 32, s.data()}, 1, y.data(), {},
                                     st.get())
                  .code(),
              absl::StatusCode::kUnimplemented);
  }
  EXPECT_FALSE((*fp32)->CanQuantizeOutput(ActQuant::kPerTokenSymmetricS8));
}

TEST(QuantizedPathTest, RejectsBadQuantizedArguments) {
  std::mt19937 rng(10);
  Layer layer = RandomLayer(Fmt::k4x1, 32, 16, rng);
  auto op = NewInt8Linear(layer.int8, ActQuantScheme::kDynamicSymmetric);
  ASSERT_TRUE(op.ok());
  auto st = (*op)->NewState();
  std::vector<int8_t> q(64, 1);
  std::vector<float> s(2, 1.0f), x(64, 0.5f), y(32);
  // Row stride shorter than in_features.
  EXPECT_EQ((*op)
                ->ForwardQuantized({q.data(), 16, s.data()}, 2, y.data(), {},
                                   st.get())
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      (*op)
          ->ForwardQuantized({q.data(), 32, nullptr}, 2, y.data(), {}, st.get())
          .ok());
  // tanh is applied after the GEMM, so it cannot be requantized in the
  // fused epilogue.
  LinearEpilogue epi;
  epi.activation = Activation::kTanh;
  epi.quantize_out = ActQuant::kPerTokenSymmetricS8;
  epi.out_q = {q.data(), 16, s.data()};
  EXPECT_EQ((*op)->Forward(x.data(), 2, y.data(), epi, st.get()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(QuantizeActivations(ActQuant::kNone, x.data(), 2, 32, 32,
                                   {q.data(), 32, s.data()})
                   .ok());
}

// --- Encoder level: BertEncoder shares Q/K/V's quantization of X and lets
// the intermediate op emit the output op's codes; hiding the quantized path
// (an op wrapper that reports kNone) gives today's calls. Bitwise equal.

// Delegates to an int8 op, offering its quantized path or only the
// fp32-input path (then the encoder must fall back to today's calls), and
// counts the calls of each entry.
class Wrapped : public LinearOp {
 public:
  Wrapped(std::unique_ptr<LinearOp> op, bool offer_quantized)
      : op_(std::move(op)), offer_quantized_(offer_quantized) {}
  int in_features() const override { return op_->in_features(); }
  int out_features() const override { return op_->out_features(); }
  std::unique_ptr<LinearState> NewState() const override {
    return op_->NewState();
  }
  absl::Status Forward(const float* x, int rows, float* y,
                       const LinearEpilogue& epi,
                       LinearState* state) const override {
    ++forward_calls;
    if (epi.quantize_out != ActQuant::kNone) ++quantized_out_calls;
    return op_->Forward(x, rows, y, epi, state);
  }
  std::string Describe() const override { return "wrapped " + op_->Describe(); }
  ActQuant input_quant() const override {
    return offer_quantized_ ? op_->input_quant() : ActQuant::kNone;
  }
  absl::Status ForwardQuantized(const QuantizedRows& xq, int rows, float* y,
                                const LinearEpilogue& epi,
                                LinearState* state) const override {
    ++quantized_calls;
    if (epi.quantize_out != ActQuant::kNone) ++quantized_out_calls;
    return op_->ForwardQuantized(xq, rows, y, epi, state);
  }
  bool CanQuantizeOutput(ActQuant scheme) const override {
    return offer_quantized_ ? op_->CanQuantizeOutput(scheme)
                            : scheme == ActQuant::kNone;
  }
  // The tests run one thread.
  mutable int forward_calls = 0, quantized_calls = 0, quantized_out_calls = 0;

 private:
  std::unique_ptr<LinearOp> op_;
  const bool offer_quantized_;
};

// Quantizes every encoder-layer linear to int8 (4x1 pruned at ~50% for
// odd layers, dense for even ones); pooler and classifier stay fp32. The
// int8 ops are Wrapped (and listed in *wrapped), or bare when wrapped is
// null.
LinearFactory QuantizingFactory(bool offer_quantized,
                                std::vector<const Wrapped*>* wrapped) {
  return [=](const LinearId& id, const DenseParams& d)
             -> absl::StatusOr<std::unique_ptr<LinearOp>> {
    if (id.kind == LinearKind::kPooler || id.kind == LinearKind::kClassifier) {
      return NewFp32Linear(d);
    }
    Int8LinearWeights w;
    w.in = d.in;
    w.out = d.out;
    w.bias = d.bias;
    std::vector<int8_t> q(d.weight.size());
    for (int n = 0; n < d.out; ++n) {
      const float* row = d.weight.data() + static_cast<size_t>(n) * d.in;
      float amax = 0;
      for (int k = 0; k < d.in; ++k) amax = std::max(amax, std::fabs(row[k]));
      const float sc = amax > 0 ? amax / 127 : 1.0f;
      w.scales.push_back(sc);
      for (int k = 0; k < d.in; ++k) {
        const bool pruned = id.layer % 2 == 1 && (k + n / 4) % 2 == 0;
        q[static_cast<size_t>(n) * d.in + k] =
            pruned ? 0 : static_cast<int8_t>(std::nearbyint(row[k] / sc));
      }
    }
    if (id.layer % 2 == 1) {
      auto packed = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, q.data(),
                                           d.out, d.in);
      if (!packed.ok()) return packed.status();
      w.sparse.emplace(std::move(*packed));
    } else {
      w.dense_q = std::move(q);
    }
    auto op = NewInt8Linear(std::move(w), ActQuantScheme::kDynamicSymmetric);
    if (!op.ok() || wrapped == nullptr) return op;
    auto wrapper = std::make_unique<Wrapped>(std::move(*op), offer_quantized);
    wrapped->push_back(wrapper.get());
    return wrapper;
  };
}

BertParams RandomEncoderParams(uint32_t seed) {
  return testutil::NormalRandomBertParams(testutil::TinyEncoderDims(80), seed);
}

TEST(QuantizedPathTest, EncoderSharingIsBitwiseEqualToSeparateQuantization) {
  std::vector<const Wrapped*> sh, sep;
  auto shared = BertEncoder::Create(RandomEncoderParams(5),
                                    QuantizingFactory(true, &sh), "int8");
  auto separate = BertEncoder::Create(RandomEncoderParams(5),
                                      QuantizingFactory(false, &sep), "sep");
  ASSERT_TRUE(shared.ok()) << shared.status();
  ASSERT_TRUE(separate.ok()) << separate.status();
  ASSERT_EQ(sh.size(), 18u);
  ASSERT_EQ(sep.size(), 18u);
  auto ws1 = (*shared)->NewWorkspace();
  auto ws2 = (*separate)->NewWorkspace();
  // 209 tokens: more than one 128-row feed-forward block.
  const PackedBatch batch = testutil::RandomPackedBatch({70, 3, 80, 1, 55}, 11);
  for (const LengthConfig& length :
       {LengthConfig{}, LengthConfig{{0.8, 0.5, 0.3}}}) {
    for (bool with_trace : {false, true}) {  // without: [CLS]-only last layer
      std::vector<float> a(5, 1), b(5, 2);
      ForwardTrace t1, t2;
      ASSERT_TRUE(
          (*shared)
              ->Forward(batch, length, ws1.get(), a, with_trace ? &t1 : nullptr)
              .ok());
      ASSERT_TRUE(
          (*separate)
              ->Forward(batch, length, ws2.get(), b, with_trace ? &t2 : nullptr)
              .ok());
      EXPECT_EQ(a, b) << "trace " << with_trace;
      EXPECT_EQ(t1.kept, t2.kept);
    }
  }
  // Which entries ran: ops per layer in creation order are query, key,
  // value, attention_output, intermediate, output.
  for (size_t i = 0; i < sh.size(); ++i) {
    const int kind = static_cast<int>(i % 6);
    EXPECT_EQ(sep[i]->quantized_calls, 0);
    EXPECT_EQ(sep[i]->quantized_out_calls, 0);
    EXPECT_GT(sep[i]->forward_calls, 0);
    const bool takes_codes = kind <= 2 || kind == 5;  // Q, K, V, FFN out
    EXPECT_EQ(sh[i]->quantized_calls > 0, takes_codes) << i;
    EXPECT_EQ(sh[i]->forward_calls > 0, !takes_codes) << i;
    EXPECT_EQ(sh[i]->quantized_out_calls > 0, kind == 4) << i;
  }
}

// The row-blocked layer tail (attention output, its LayerNorm, the
// feed-forward block, the next layer's Q/K/V codes per block) against one
// block over all rows with a separate quantization per op: an observer
// forces the latter (whole inputs, fp32 into every op). 209 tokens span two
// 128-row blocks; with and without token dropping. Bitwise equal logits.
TEST(QuantizedPathTest, EncoderRowBlocksEqualOneBlockBitwise) {
  std::vector<const Wrapped*> ops;
  auto enc = BertEncoder::Create(RandomEncoderParams(7),
                                 QuantizingFactory(true, &ops), "int8");
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto ws = (*enc)->NewWorkspace();
  const PackedBatch batch = testutil::RandomPackedBatch({70, 3, 80, 1, 55}, 12);
  for (const LengthConfig& length :
       {LengthConfig{}, LengthConfig{{0.8, 0.5, 0.3}}}) {
    std::vector<float> blocked(5, 1), whole(5, 2);
    ASSERT_TRUE((*enc)->Forward(batch, length, ws.get(), blocked).ok());
    ForwardTrace trace;
    trace.linear_observer = [](const LinearInput&) {};
    ASSERT_TRUE((*enc)->Forward(batch, length, ws.get(), whole, &trace).ok());
    EXPECT_EQ(blocked, whole);
  }
}

TEST(QuantizedPathTest, EncoderObserverStillSeesFp32Inputs) {
  std::vector<const Wrapped*> ops;
  auto enc = BertEncoder::Create(RandomEncoderParams(6),
                                 QuantizingFactory(true, &ops), "int8");
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto ws = (*enc)->NewWorkspace();
  PackedBatch batch;
  batch.Add(std::vector<int32_t>{1, 2, 3, 4}, std::vector<int32_t>{0, 0, 1, 1});
  std::vector<float> plain(1), observed(1);
  ASSERT_TRUE((*enc)->Forward(batch, {}, ws.get(), plain).ok());
  for (const Wrapped* op : ops) {
    op->forward_calls = op->quantized_out_calls = 0;  // mutable counters
  }
  ForwardTrace trace;
  int seen = 0;
  trace.linear_observer = [&](const LinearInput& in) {
    ++seen;
    EXPECT_NE(in.x, nullptr);
  };
  ASSERT_TRUE((*enc)->Forward(batch, {}, ws.get(), observed, &trace).ok());
  EXPECT_EQ(seen, 3 * 6 + 2);  // every linear, once (one FFN block)
  EXPECT_EQ(plain, observed);
  for (const Wrapped* op : ops) {
    EXPECT_EQ(op->forward_calls, 1);  // the observed run: fp32 inputs
    EXPECT_EQ(op->quantized_out_calls, 0);
  }
}

// Int8 attention: Q, K and V come out of their projections as per-token
// codes (no fp32 Q/K/V), and the logits stay close to fp32 attention's.
TEST(QuantizedPathTest, EncoderInt8AttentionTakesProjectionCodes) {
  // The tiny random-weight encoder's logits are O(1) and it is sensitive:
  // s8 attention moved them by up to 0.04 (all tokens) and 0.085 (dropping:
  // a near-tied token swapped) on this batch. A wrong head / scale wiring
  // moves them by O(1).
  constexpr float kLogitTol = 0.15f;
  std::vector<const Wrapped*> f_ops, q_ops;
  BertEncoderOptions int8_attention;
  int8_attention.attention = AttentionPrecision::kInt8;
  auto fp = BertEncoder::Create(RandomEncoderParams(7),
                                QuantizingFactory(true, &f_ops), "int8");
  auto q8 = BertEncoder::Create(RandomEncoderParams(7),
                                QuantizingFactory(true, &q_ops), "int8",
                                int8_attention);
  ASSERT_TRUE(fp.ok()) << fp.status();
  ASSERT_TRUE(q8.ok()) << q8.status();
  EXPECT_EQ((*q8)->Describe(), "int8, attention int8");
  auto ws1 = (*fp)->NewWorkspace();
  auto ws2 = (*q8)->NewWorkspace();
  const PackedBatch batch = testutil::RandomPackedBatch({60, 2, 77, 1, 30}, 3);
  for (const LengthConfig& length :
       {LengthConfig{}, LengthConfig{{0.8, 0.5, 0.3}}}) {
    std::vector<float> a(5), b(5);
    ASSERT_TRUE((*fp)->Forward(batch, length, ws1.get(), a).ok());
    ASSERT_TRUE((*q8)->Forward(batch, length, ws2.get(), b).ok());
    for (int s = 0; s < 5; ++s) EXPECT_NEAR(a[s], b[s], kLogitTol) << s;
    // A trace with an observer: fp32 inputs, attention quantizes itself.
    ForwardTrace trace;
    trace.linear_observer = [](const LinearInput&) {};
    std::vector<float> c(5);
    ASSERT_TRUE((*q8)->Forward(batch, length, ws2.get(), c, &trace).ok());
    for (int s = 0; s < 5; ++s) EXPECT_NEAR(a[s], c[s], kLogitTol) << s;
  }
  for (size_t i = 0; i < q_ops.size(); ++i) {
    const int kind = static_cast<int>(i % 6);
    // Q, K, V (codes for attention) and FFN-in (codes for FFN-out).
    const bool emits = kind <= 2 || kind == 4;
    EXPECT_EQ(q_ops[i]->quantized_out_calls > 0, emits) << i;
    EXPECT_EQ(f_ops[i]->quantized_out_calls > 0, kind == 4) << i;
  }
}

}  // namespace
}  // namespace fastrel

namespace fastrel {
namespace {

// --- Fused feed-forward pair (LinearOp::ForwardFfnPair): on the AVX2 and
// AVX-512 VNNI kernels, so these tests skip where the dispatch picks the
// scalar reference; ctest also runs them capped at AVX2
// (int8_linear_test.avx2, engine/runtime/CMakeLists.txt), so a VNNI machine
// tests both.

bool FusedDispatch() {
  const KernelIsa isa = ResolveIsa(KernelIsa::kAuto);
  return isa == KernelIsa::kAvx2 || isa == KernelIsa::kAvx512Vnni;
}

TEST(FusedFfnTest, PairEqualsTwoOpsBitwise) {
  if (!FusedDispatch()) {
    GTEST_SKIP() << "the fused pair runs on the AVX2 and VNNI kernels; this "
                    "CPU dispatches to "
                 << KernelIsaName(ResolveIsa(KernelIsa::kAuto));
  }
  std::mt19937 rng(40);
  const int h = 64, i = 256;
  auto in_op = NewInt8Linear(RandomLayer(Fmt::k4x1, h, i, rng).int8,
                             ActQuantScheme::kDynamicSymmetric);
  auto out_op = NewInt8Linear(RandomLayer(Fmt::k4x1, i, h, rng).int8,
                              ActQuantScheme::kDynamicSymmetric);
  ASSERT_TRUE(in_op.ok() && out_op.ok());
  auto st_in = (*in_op)->NewState(), st_out = (*out_op)->NewState();
  for (int rows : {1, 16, 37, 100}) {  // AVX2 / VNNI tiles and tails
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(rows) * h), res(rows * h);
    for (float& v : x) v = nd(rng);
    for (float& v : res) v = nd(rng);
    // Two ops: GELU output as per-token codes, then the output op on them.
    std::vector<int8_t> codes(static_cast<size_t>(rows) * i);
    std::vector<float> scales(rows), want(rows * h), got(rows * h, -1.0f);
    LinearEpilogue gelu;
    gelu.activation = Activation::kGelu;
    gelu.quantize_out = ActQuant::kPerTokenSymmetricS8;
    gelu.out_q = {codes.data(), i, scales.data()};
    ASSERT_TRUE(
        (*in_op)->Forward(x.data(), rows, nullptr, gelu, st_in.get()).ok());
    LinearEpilogue add;
    add.residual = res.data();
    ASSERT_TRUE((*out_op)
                    ->ForwardQuantized({codes.data(), i, scales.data()}, rows,
                                       want.data(), add, st_out.get())
                    .ok());
    absl::StatusOr<bool> fused = (*in_op)->ForwardFfnPair(
        **out_op, x.data(), rows, got.data(), res.data(), st_in.get());
    ASSERT_TRUE(fused.ok()) << fused.status();
    ASSERT_TRUE(*fused) << "rows " << rows;
    EXPECT_EQ(got, want) << "rows " << rows;
  }
}

TEST(FusedFfnTest, PairsWithoutAFusedKernelComputeNothing) {
  std::mt19937 rng(41);
  auto make = [&](Fmt fmt, int in, int out, ActQuantScheme scheme) {
    Layer l = RandomLayer(fmt, in, out, rng);
    l.int8.static_act_scale = 0.05f;
    auto op = NewInt8Linear(std::move(l.int8), scheme);
    EXPECT_TRUE(op.ok()) << op.status();
    return std::move(*op);
  };
  const auto sym = ActQuantScheme::kDynamicSymmetric;
  auto sparse_in = make(Fmt::k4x1, 32, 64, sym);
  auto sparse_out = make(Fmt::k4x1, 64, 32, sym);
  auto dense_out = make(Fmt::kDense, 64, 32, sym);
  auto nm_in = make(Fmt::k2of4, 32, 64, sym);
  auto asym_out = make(Fmt::k4x1, 64, 32, ActQuantScheme::kDynamicAsymmetric);
  auto static_in = make(Fmt::k4x1, 32, 64, ActQuantScheme::kStaticSymmetric);
  auto unchained = make(Fmt::k4x1, 32, 32, sym);  // 32 inputs, not 64
  Layer f = RandomLayer(Fmt::kDense, 64, 32, rng);
  auto fp32_out = NewFp32Linear(f.fp32);
  ASSERT_TRUE(fp32_out.ok());
  std::vector<float> x(2 * 32, 0.5f), y(2 * 32, -3.0f);
  struct Pair {
    const LinearOp* in;
    const LinearOp* out;
    const char* what;
  };
  for (const Pair& p : {Pair{sparse_in.get(), dense_out.get(), "dense out"},
                        Pair{nm_in.get(), sparse_out.get(), "2:4 in"},
                        Pair{sparse_in.get(), asym_out.get(), "asym out"},
                        Pair{static_in.get(), sparse_out.get(), "static in"},
                        Pair{sparse_in.get(), unchained.get(), "unchained"},
                        Pair{sparse_in.get(), fp32_out->get(), "fp32 out"},
                        Pair{fp32_out->get(), sparse_out.get(), "fp32 in"}}) {
    auto st = p.in->NewState();
    absl::StatusOr<bool> fused =
        p.in->ForwardFfnPair(*p.out, x.data(), 2, y.data(), nullptr, st.get());
    ASSERT_TRUE(fused.ok()) << p.what << ": " << fused.status();
    EXPECT_FALSE(*fused) << p.what;
    EXPECT_EQ(y, std::vector<float>(y.size(), -3.0f)) << p.what;
  }
  // The sparse symmetric pair fuses exactly where the SIMD kernels run.
  auto st = sparse_in->NewState();
  absl::StatusOr<bool> fused = sparse_in->ForwardFfnPair(
      *sparse_out, x.data(), 2, y.data(), nullptr, st.get());
  ASSERT_TRUE(fused.ok()) << fused.status();
  EXPECT_EQ(*fused, FusedDispatch());
}

// The encoder takes the fused pair in the layers whose FFN is sparse 4x1
// (bare ops) and the two-op quantized path behind Wrapped ops (which do not
// forward ForwardFfnPair): bitwise equal logits, with and without dropping,
// over two 128-row feed-forward blocks.
TEST(FusedFfnTest, EncoderWithFusedPairsEqualsTwoOpPathBitwise) {
  if (!FusedDispatch()) {
    GTEST_SKIP() << "the fused pair runs on the AVX2 and VNNI kernels; this "
                    "CPU dispatches to "
                 << KernelIsaName(ResolveIsa(KernelIsa::kAuto));
  }
  std::vector<const Wrapped*> ops;
  auto fused = BertEncoder::Create(RandomEncoderParams(8),
                                   QuantizingFactory(true, nullptr), "fused");
  auto two_op = BertEncoder::Create(RandomEncoderParams(8),
                                    QuantizingFactory(true, &ops), "two-op");
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(two_op.ok()) << two_op.status();
  auto ws1 = (*fused)->NewWorkspace();
  auto ws2 = (*two_op)->NewWorkspace();
  const PackedBatch batch = testutil::RandomPackedBatch({70, 3, 80, 1, 55}, 13);
  for (const LengthConfig& length :
       {LengthConfig{}, LengthConfig{{0.8, 0.5, 0.3}}}) {
    std::vector<float> a(5, 1), b(5, 2);
    ASSERT_TRUE((*fused)->Forward(batch, length, ws1.get(), a).ok());
    ASSERT_TRUE((*two_op)->Forward(batch, length, ws2.get(), b).ok());
    EXPECT_EQ(a, b);
  }
  // The two-op encoder's odd-layer FFN-out ops ran on codes (ops per layer:
  // query, key, value, attention_output, intermediate, output).
  EXPECT_GT(ops[6 + 5]->quantized_calls, 0);
}

}  // namespace
}  // namespace fastrel
