#include "engine/compile/testutil.h"

#include <cmath>
#include <random>

#include "engine/compile/hessian.h"

namespace fastrel::compile::testing {
namespace {

// Spread of the per-channel input scales (log-normal sigma).
constexpr float kLogScaleSigma = 0.5f;

}  // namespace

std::vector<float> RandomNormal(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = normal(rng);
  return v;
}

SyntheticLayer MakeCorrelatedLayer(int64_t rows, int64_t cols, int64_t samples,
                                   uint64_t seed) {
  SyntheticLayer layer;
  layer.rows = rows;
  layer.cols = cols;
  layer.samples = samples;
  layer.w = RandomNormal(rows * cols, seed);
  const std::vector<float> z = RandomNormal(samples * cols, seed + 1);
  std::vector<float> a = RandomNormal(cols * cols, seed + 2);
  const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(cols));
  for (float& v : a) v *= inv_sqrt;
  // Shared low-rank component: A += B C with B cols x r, C r x cols.
  const int64_t rank = cols / 8 > 0 ? cols / 8 : 1;
  const std::vector<float> b = RandomNormal(cols * rank, seed + 3);
  const std::vector<float> c = RandomNormal(rank * cols, seed + 4);
  const float low_rank_scale =
      2.0f / std::sqrt(static_cast<float>(rank * cols));
  for (int64_t i = 0; i < cols; ++i) {
    for (int64_t t = 0; t < rank; ++t) {
      const float bit = b[i * rank + t] * low_rank_scale;
      for (int64_t j = 0; j < cols; ++j)
        a[i * cols + j] += bit * c[t * cols + j];
    }
  }
  layer.x.assign(static_cast<size_t>(samples * cols), 0.0f);
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t i = 0; i < cols; ++i) {
      const float zi = z[s * cols + i];
      for (int64_t j = 0; j < cols; ++j) {
        layer.x[s * cols + j] += zi * a[i * cols + j];
      }
    }
  }
  // Per-channel scales, log-normal: like real activations, some input
  // channels are much larger than others (magnitude pruning ignores this).
  const std::vector<float> g = RandomNormal(cols, seed + 5);
  for (int64_t j = 0; j < cols; ++j) {
    const float scale = std::exp(kLogScaleSigma * g[j]);
    for (int64_t s = 0; s < samples; ++s) layer.x[s * cols + j] *= scale;
  }
  HessianAccumulator acc(cols);
  // Cannot fail: sizes match and values are finite.
  (void)acc.Add(layer.x, samples);
  layer.h = *acc.Hessian();
  return layer;
}

}  // namespace fastrel::compile::testing
