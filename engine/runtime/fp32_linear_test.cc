#include "engine/runtime/fp32_linear.h"

#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace fastrel {
namespace {

// oneDNN's fp32 GEMM reorders the K-sum and uses FMA; against a double
// reference the error is ~K * 2^-24 * |x||w|, well below this for K <= 512
// and unit-scale inputs.
constexpr float kGemmTol = 1e-4f;

DenseParams RandomDense(int in, int out, std::mt19937* rng) {
  std::normal_distribution<float> d(0.0f, 0.5f);
  DenseParams p;
  p.in = in;
  p.out = out;
  p.weight.resize(static_cast<size_t>(in) * out);
  p.bias.resize(out);
  for (float& w : p.weight) w = d(*rng);
  for (float& b : p.bias) b = d(*rng);
  return p;
}

std::vector<float> Reference(const DenseParams& p, const std::vector<float>& x,
                             int rows, Activation act, const float* residual) {
  std::vector<float> y(static_cast<size_t>(rows) * p.out);
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < p.out; ++o) {
      double acc = p.bias[o];
      for (int i = 0; i < p.in; ++i) {
        acc += static_cast<double>(x[static_cast<size_t>(r) * p.in + i]) *
               p.weight[static_cast<size_t>(o) * p.in + i];
      }
      if (act == Activation::kGelu)
        acc = 0.5 * acc * (1 + std::erf(acc / std::sqrt(2.0)));
      if (act == Activation::kTanh) acc = std::tanh(acc);
      if (residual != nullptr)
        acc += residual[static_cast<size_t>(r) * p.out + o];
      y[static_cast<size_t>(r) * p.out + o] = static_cast<float>(acc);
    }
  }
  return y;
}

TEST(Fp32LinearTest, MatchesReferenceForEveryEpilogue) {
  std::mt19937 rng(7);
  for (auto [in, out] :
       {std::pair{16, 8}, std::pair{64, 1}, std::pair{96, 40}}) {
    DenseParams p = RandomDense(in, out, &rng);
    auto op = NewFp32Linear(p);
    ASSERT_TRUE(op.ok()) << op.status();
    EXPECT_EQ((*op)->in_features(), in);
    EXPECT_EQ((*op)->out_features(), out);
    auto state = (*op)->NewState();
    for (int rows : {1, 5, 37}) {
      std::normal_distribution<float> d(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(rows) * in), res(rows * out);
      for (float& v : x) v = d(rng);
      for (float& v : res) v = d(rng);
      for (Activation act :
           {Activation::kNone, Activation::kGelu, Activation::kTanh}) {
        for (const float* r : {static_cast<const float*>(nullptr),
                               static_cast<const float*>(res.data())}) {
          LinearEpilogue epi;
          epi.activation = act;
          epi.residual = r;
          std::vector<float> y(static_cast<size_t>(rows) * out, -7.0f);
          ASSERT_TRUE(
              (*op)->Forward(x.data(), rows, y.data(), epi, state.get()).ok());
          std::vector<float> want = Reference(p, x, rows, act, r);
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_NEAR(y[i], want[i], kGemmTol * (1 + std::fabs(want[i])))
                << in << "x" << out << " rows=" << rows;
          }
        }
      }
    }
    // rows == 0 is a no-op.
    EXPECT_TRUE((*op)->Forward(nullptr, 0, nullptr, {}, state.get()).ok());
  }
}

TEST(Fp32LinearTest, ConcurrentStatesAgree) {
  std::mt19937 rng(8);
  DenseParams p = RandomDense(64, 64, &rng);
  auto op = NewFp32Linear(p);
  ASSERT_TRUE(op.ok());
  std::vector<float> x(20 * 64, 0.25f);
  std::vector<float> want(20 * 64);
  auto st = (*op)->NewState();
  ASSERT_TRUE((*op)->Forward(x.data(), 20, want.data(), {}, st.get()).ok());
  std::vector<std::vector<float>> got(4, std::vector<float>(20 * 64));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto s = (*op)->NewState();
      for (int i = 0; i < 20; ++i) {
        (void)(*op)->Forward(x.data(), 20, got[t].data(), {}, s.get());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(got[t], want);
}

TEST(Fp32LinearTest, RejectsInconsistentParams) {
  DenseParams p;
  p.in = 4;
  p.out = 2;
  p.weight.resize(7);
  p.bias.resize(2);
  EXPECT_EQ(NewFp32Linear(p).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel
