// AVX2 twin of ApplyEpilogueRowRef (epilogue.cc). Dequantization, bias and
// residual are the same IEEE operations in the same order (bit-identical to
// the reference); GELU uses a vectorized erf (rational minimax approximation
// on [-4, 4], the one Eigen/TensorFlow use for float, a few ulp from
// std::erf), so GELU outputs match the reference within a tolerance
// (epilogue_test.cc: kGeluTol).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "engine/kernels/epilogue.h"
#include "engine/kernels/simd_math_avx2.h"

namespace fastrel::internal {
namespace {

using simd::Gelu8;

inline float Gelu(float y) {
  return _mm256_cvtss_f32(Gelu8(_mm256_set1_ps(y)));
}

// One 8-column step of the row (cols [j, j+8)): dequantize, bias, GELU,
// residual, store; returns |y| for the row max.
template <bool kZp, bool kBias, bool kGelu, bool kRes>
inline __m256 Step8(const Epilogue& ep, const int32_t* acc, const float* res,
                    __m256 vsa, __m256i vzp, int j, float* out) {
  __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j));
  if constexpr (kZp) {
    const __m256i cs = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(ep.weight_col_sum + j));
    c = _mm256_sub_epi32(c, _mm256_mullo_epi32(vzp, cs));
  }
  const __m256 s = _mm256_mul_ps(vsa, _mm256_loadu_ps(ep.weight_scale + j));
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(c), s);
  if constexpr (kBias) y = _mm256_add_ps(y, _mm256_loadu_ps(ep.bias + j));
  if constexpr (kGelu) y = Gelu8(y);
  if constexpr (kRes) y = _mm256_add_ps(y, _mm256_loadu_ps(res + j));
  _mm256_storeu_ps(out + j, y);
  return _mm256_and_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

// The row with the epilogue's options fixed at compile time, so the loop has
// no per-element branches and, unrolled by two, keeps two independent GELU
// dependency chains in flight (the erf polynomial and division are long
// latency chains). Same IEEE operations per element as before: bit-identical.
template <bool kZp, bool kBias, bool kGelu, bool kRes, bool kAmax>
float Row(const Epilogue& ep_in, const int32_t* acc, int m, int n, float* out) {
  // A local copy: the stores to `out` could alias the caller's Epilogue, so
  // with a reference the compiler reloads its pointers every step.
  const Epilogue ep = ep_in;
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = kZp ? ep.act_zero_point[m] : 0;
  const float* res = kRes ? ep.residual + m * ep.ld_residual : nullptr;
  const __m256 vsa = _mm256_set1_ps(sa);
  const __m256i vzp = _mm256_set1_epi32(zp);
  __m256 vmax0 = _mm256_setzero_ps(), vmax1 = _mm256_setzero_ps();
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 a0 =
        Step8<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp, j, out);
    const __m256 a1 =
        Step8<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp, j + 8, out);
    if constexpr (kAmax) {
      vmax0 = _mm256_max_ps(vmax0, a0);
      vmax1 = _mm256_max_ps(vmax1, a1);
    }
  }
  for (; j + 8 <= n; j += 8) {
    const __m256 a0 =
        Step8<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp, j, out);
    if constexpr (kAmax) vmax0 = _mm256_max_ps(vmax0, a0);
  }
  float amax = 0.0f;
  if constexpr (kAmax) {
    const __m256 vmax = _mm256_max_ps(vmax0, vmax1);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(vmax),
                          _mm256_extractf128_ps(vmax, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
  }
  for (; j < n; ++j) {
    int32_t c = acc[j];
    if constexpr (kZp) {
      c = static_cast<int32_t>(static_cast<uint32_t>(c) -
                               static_cast<uint32_t>(zp) *
                                   static_cast<uint32_t>(ep.weight_col_sum[j]));
    }
    float y = static_cast<float>(c) * (sa * ep.weight_scale[j]);
    if constexpr (kBias) y = y + ep.bias[j];
    if constexpr (kGelu) y = Gelu(y);
    if constexpr (kRes) y = y + res[j];
    out[j] = y;
    if constexpr (kAmax) amax = std::max(amax, std::fabs(y));
  }
  return amax;
}

using RowFn = float (*)(const Epilogue&, const int32_t*, int, int, float*);

template <int kFlags>
float RowOf(const Epilogue& ep, const int32_t* acc, int m, int n, float* out) {
  return Row<(kFlags & 1) != 0, (kFlags & 2) != 0, (kFlags & 4) != 0,
             (kFlags & 8) != 0, (kFlags & 16) != 0>(ep, acc, m, n, out);
}

template <int... I>
constexpr std::array<RowFn, sizeof...(I)> MakeRows(
    std::integer_sequence<int, I...>) {
  return {&RowOf<I>...};
}

// Indexed by zp | bias << 1 | gelu << 2 | residual << 3 | amax << 4.
constexpr std::array<RowFn, 32> kRows =
    MakeRows(std::make_integer_sequence<int, 32>{});

}  // namespace

float ApplyEpilogueRowAvx2(const Epilogue& ep, const int32_t* acc, int m, int n,
                           float* out, bool want_amax) {
  const int flags = (ep.act_zero_point != nullptr ? 1 : 0) |
                    (ep.bias != nullptr ? 2 : 0) | (ep.gelu ? 4 : 0) |
                    (ep.residual != nullptr ? 8 : 0) | (want_amax ? 16 : 0);
  return kRows[flags](ep, acc, m, n, out);
}

}  // namespace fastrel::internal
