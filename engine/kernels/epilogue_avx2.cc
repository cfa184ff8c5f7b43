// AVX2 twin of ApplyEpilogueRowRef (epilogue.cc). Dequantization, bias and
// residual are the same IEEE operations in the same order (bit-identical to
// the reference); GELU uses a vectorized erf (rational minimax approximation
// on [-4, 4], the one Eigen/TensorFlow use for float, a few ulp from
// std::erf), so GELU outputs match the reference within a tolerance
// (epilogue_test.cc: kGeluTol).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/epilogue.h"
#include "engine/kernels/simd_math_avx2.h"

namespace fastrel::internal {
namespace {

using simd::Gelu8;

inline float Gelu(float y) {
  return _mm256_cvtss_f32(Gelu8(_mm256_set1_ps(y)));
}

}  // namespace

float ApplyEpilogueRowAvx2(const Epilogue& ep, const int32_t* acc, int m, int n,
                           float* out, bool want_amax) {
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = ep.act_zero_point ? ep.act_zero_point[m] : 0;
  const float* res = ep.residual ? ep.residual + m * ep.ld_residual : nullptr;
  const __m256 vsa = _mm256_set1_ps(sa);
  const __m256i vzp = _mm256_set1_epi32(zp);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vmax = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j));
    if (ep.act_zero_point) {
      const __m256i cs = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(ep.weight_col_sum + j));
      c = _mm256_sub_epi32(c, _mm256_mullo_epi32(vzp, cs));
    }
    const __m256 s = _mm256_mul_ps(vsa, _mm256_loadu_ps(ep.weight_scale + j));
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(c), s);
    if (ep.bias) y = _mm256_add_ps(y, _mm256_loadu_ps(ep.bias + j));
    if (ep.gelu) y = Gelu8(y);
    if (res) y = _mm256_add_ps(y, _mm256_loadu_ps(res + j));
    _mm256_storeu_ps(out + j, y);
    if (want_amax) vmax = _mm256_max_ps(vmax, _mm256_and_ps(y, abs_mask));
  }
  float amax = 0.0f;
  if (want_amax) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(vmax),
                          _mm256_extractf128_ps(vmax, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
  }
  for (; j < n; ++j) {
    int32_t c = acc[j];
    if (ep.act_zero_point) {
      c = static_cast<int32_t>(static_cast<uint32_t>(c) -
                               static_cast<uint32_t>(zp) *
                                   static_cast<uint32_t>(ep.weight_col_sum[j]));
    }
    float y = static_cast<float>(c) * (sa * ep.weight_scale[j]);
    if (ep.bias) y = y + ep.bias[j];
    if (ep.gelu) y = Gelu(y);
    if (res) y = y + res[j];
    out[j] = y;
    if (want_amax) amax = std::max(amax, std::fabs(y));
  }
  return amax;
}

}  // namespace fastrel::internal
