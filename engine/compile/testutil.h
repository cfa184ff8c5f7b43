// Test-only helpers: synthetic linear layers whose inputs are strongly
// correlated (X = Z A with random Z and A), so that the Hessian is far from
// diagonal and OBS has something to exploit over magnitude pruning.
//
// Thread-safety: pure functions.
#ifndef FASTREL_ENGINE_COMPILE_TESTUTIL_H_
#define FASTREL_ENGINE_COMPILE_TESTUTIL_H_

#include <cstdint>
#include <vector>

namespace fastrel::compile::testing {

struct SyntheticLayer {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t samples = 0;
  std::vector<float> w;   // rows x cols, N(0, 1)
  std::vector<float> x;   // samples x cols calibration inputs, X = Z A
  std::vector<double> h;  // cols x cols, (2 / samples) X^T X
};

// A layer with `rows` outputs, `cols` inputs and `samples` calibration rows.
// Z is samples x cols N(0, 1); A is cols x cols with N(0, 1/cols) entries plus
// a shared rank-`cols/8` component, so input channels are correlated; each
// input channel is then scaled by exp(0.5 * N(0, 1)), so channels have
// different scales as real activations do. Deterministic in `seed`.
SyntheticLayer MakeCorrelatedLayer(int64_t rows, int64_t cols, int64_t samples,
                                   uint64_t seed);

// `count` N(0, 1) floats, deterministic in `seed`.
std::vector<float> RandomNormal(int64_t count, uint64_t seed);

}  // namespace fastrel::compile::testing

#endif  // FASTREL_ENGINE_COMPILE_TESTUTIL_H_
