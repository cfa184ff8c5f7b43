// Vectorised math shared by the SIMD kernels on 8 floats: exp, erf and
// exact-erf GELU, lane sums and maxima, an 8x8 transpose. Header-only; include
// it only from translation units compiled with at least ${FASTREL_AVX2_FLAGS}
// (see fastrel_simd_sources), which are reached through CPUID dispatch.
// Everything is in an anonymous namespace: each SIMD file compiles its own
// copy with its own ISA flags, so an AVX-512 file may include it too without
// the linker picking its AVX-512 encoding for an AVX2 caller (no ODR sharing
// between ISAs). Pure functions: thread-safe.
#ifndef FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX2_H_
#define FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX2_H_

#include <immintrin.h>

#include "engine/kernels/simd_math_coeffs.h"

namespace fastrel::simd {
namespace {

// Sum of the 8 lanes: (lo half + hi half), then two horizontal adds (this
// order is part of the contract of ScoresToProbs, attention_int8.h).
inline float HSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_hadd_ps(lo, lo);
  lo = _mm_hadd_ps(lo, lo);
  return _mm_cvtss_f32(lo);
}

// Max of the 8 lanes.
inline float HMax(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_max_ps(lo, hi);
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// exp(x) (simd_math_coeffs.h); relative error ~2 ulp on [-87, 88]; inputs
// below -87.3 give ~0.
inline __m256 Exp8(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(kExpMax));
  x = _mm256_max_ps(x, _mm256_set1_ps(kExpMin));
  __m256 fx = _mm256_mul_ps(x, _mm256_set1_ps(kLog2e));
  fx = _mm256_round_ps(fx, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Hi), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Lo), x);
  __m256 y = _mm256_set1_ps(kExpPoly[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 6; ++i) {
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(kExpPoly[i]));
  }
  const __m256 x2 = _mm256_mul_ps(x, x);
  y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
  e = _mm256_slli_epi32(e, 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// erf(x) (simd_math_coeffs.h); absolute error ~1e-7.
inline __m256 Erf8(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(kErfClamp));
  x = _mm256_max_ps(x, _mm256_set1_ps(-kErfClamp));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(kErfP[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 7; ++i) {
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(kErfP[i]));
  }
  p = _mm256_mul_ps(p, x);
  __m256 q = _mm256_set1_ps(kErfQ[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 5; ++i) {
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(kErfQ[i]));
  }
  return _mm256_div_ps(p, q);
}

// GELU with the exact erf: 0.5 x (1 + erf(x / sqrt 2)).
inline __m256 Gelu8(__m256 x) {
  const __m256 e = Erf8(_mm256_mul_ps(x, _mm256_set1_ps(kSqrtHalf)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// 8x8 transpose: out[t] = column t of the 8 rows in[0..8).
inline void Transpose8x8(const __m256 in[8], __m256 out[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(in[0], in[1]);
  const __m256 t1 = _mm256_unpackhi_ps(in[0], in[1]);
  const __m256 t2 = _mm256_unpacklo_ps(in[2], in[3]);
  const __m256 t3 = _mm256_unpackhi_ps(in[2], in[3]);
  const __m256 t4 = _mm256_unpacklo_ps(in[4], in[5]);
  const __m256 t5 = _mm256_unpackhi_ps(in[4], in[5]);
  const __m256 t6 = _mm256_unpacklo_ps(in[6], in[7]);
  const __m256 t7 = _mm256_unpackhi_ps(in[6], in[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  out[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  out[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  out[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  out[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  out[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  out[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  out[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  out[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

}  // namespace
}  // namespace fastrel::simd

#endif  // FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX2_H_
