// AVX2 twin of ApplyEpilogueRowRef (epilogue.cc). Dequantization, bias and
// residual are the same IEEE operations in the same order (bit-identical to
// the reference); GELU uses a vectorized erf (rational minimax approximation
// on [-4, 4], the one Eigen/TensorFlow use for float, a few ulp from
// std::erf), so GELU outputs match the reference within a tolerance
// (epilogue_test.cc: kGeluTol).
#include <immintrin.h>

#include <cmath>

#include "engine/kernels/epilogue.h"

namespace fastrel::internal {
namespace {

// erf(x) for 8 floats; |error| of a few float ulps of the result.
__m256 Erf8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)),
                    _mm256_set1_ps(4.0f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
  p = _mm256_mul_ps(p, x);
  __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
  return _mm256_div_ps(p, q);
}

__m256 Gelu8(__m256 y) {
  const __m256 e = Erf8(_mm256_mul_ps(y, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), y),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

inline float Gelu(float y) {
  return _mm256_cvtss_f32(Gelu8(_mm256_set1_ps(y)));
}

}  // namespace

void ApplyEpilogueRowAvx2(const Epilogue& ep, const int32_t* acc, int m,
                          int n) {
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = ep.act_zero_point ? ep.act_zero_point[m] : 0;
  float* out = ep.out + m * ep.ld_out;
  const float* res = ep.residual ? ep.residual + m * ep.ld_residual : nullptr;
  const __m256 vsa = _mm256_set1_ps(sa);
  const __m256i vzp = _mm256_set1_epi32(zp);
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
  }
}

}  // namespace fastrel::internal
