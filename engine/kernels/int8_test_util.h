// Test-only helpers for the int8 kernel tests: random matrices with a given
// sparsity pattern, and NMSE.
#ifndef FASTREL_ENGINE_KERNELS_INT8_TEST_UTIL_H_
#define FASTREL_ENGINE_KERNELS_INT8_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/kernels/sparse_format.h"

namespace fastrel::testing_util {

inline int8_t RandNonZero(std::mt19937& rng, bool extreme) {
  if (extreme) return (rng() & 1) ? 127 : -127;
  std::uniform_int_distribution<int> d(1, 127);
  const int v = d(rng);
  return static_cast<int8_t>((rng() & 1) ? v : -v);
}

// Random Wq [n x k] in [-127, 127] conforming to `pattern` with about
// `sparsity` of the 4x1 blocks zero (ignored for N:M, which is filled to the
// maximum N non-zeros per group of 4 with probability keep_nm per slot).
inline std::vector<int8_t> RandomSparse(SparsePattern pattern, int n, int k,
                                        double sparsity, std::mt19937& rng,
                                        bool extreme = false,
                                        double keep_nm = 0.9) {
  std::vector<int8_t> w(static_cast<size_t>(n) * k, 0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (pattern == SparsePattern::kBlock4x1) {
    for (int rb = 0; rb < n / 4; ++rb) {
      for (int kk = 0; kk < k; ++kk) {
        if (u(rng) < sparsity) continue;
        for (int j = 0; j < 4; ++j) {
          // Kept blocks may still hold zeros (not extreme).
          if (!extreme && u(rng) < 0.1) continue;
          w[static_cast<size_t>(4 * rb + j) * k + kk] =
              RandNonZero(rng, extreme);
        }
      }
    }
    return w;
  }
  const int npg = pattern == SparsePattern::k2of4 ? 2 : 1;
  for (int r = 0; r < n; ++r) {
    for (int g = 0; g < k / 4; ++g) {
      int pos[4] = {0, 1, 2, 3};
      std::shuffle(pos, pos + 4, rng);
      for (int i = 0; i < npg; ++i) {
        if (!extreme && u(rng) > keep_nm) continue;
        w[static_cast<size_t>(r) * k + 4 * g + pos[i]] =
            RandNonZero(rng, extreme);
      }
    }
  }
  return w;
}

template <typename T>
std::vector<T> RandomInts(size_t count, int lo, int hi, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

inline std::vector<float> RandomFloats(size_t count, float lo, float hi,
                                       std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = d(rng);
  return v;
}

// Normalized mean squared error sum (a-b)^2 / sum b^2 (ggml style).
inline double Nmse(const std::vector<float>& got,
                   const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double{got[i]} - want[i];
    num += d * d;
    den += double{want[i]} * want[i];
  }
  return den == 0 ? num : num / den;
}

}  // namespace fastrel::testing_util

#endif  // FASTREL_ENGINE_KERNELS_INT8_TEST_UTIL_H_
