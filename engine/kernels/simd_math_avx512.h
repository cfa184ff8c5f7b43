// Vectorised math of the AVX-512 kernels on 16 floats: exp, erf and
// exact-erf GELU, the lane-for-lane twins of simd_math_avx2.h's Exp8, Erf8
// and Gelu8 (the same constants, simd_math_coeffs.h, and the same operations
// in the same order, so their lanes are bit-identical). Header-only; include
// it only from translation units compiled with ${FASTREL_AVX512_FLAGS},
// reached through CPUID dispatch. Everything is in an anonymous namespace:
// each file compiles its own copy (no ODR sharing between ISAs). Pure
// functions: thread-safe.
#ifndef FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_
#define FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_

#include <immintrin.h>

#include "engine/kernels/simd_math_coeffs.h"

namespace fastrel::simd {
namespace {

// exp(x) as Exp8.
inline __m512 Exp16(__m512 x) {
  x = _mm512_min_ps(x, _mm512_set1_ps(kExpMax));
  x = _mm512_max_ps(x, _mm512_set1_ps(kExpMin));
  __m512 fx = _mm512_mul_ps(x, _mm512_set1_ps(kLog2e));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), x);
  __m512 y = _mm512_set1_ps(kExpPoly[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 6; ++i) {
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(kExpPoly[i]));
  }
  const __m512 x2 = _mm512_mul_ps(x, x);
  y = _mm512_fmadd_ps(y, x2, _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127));
  e = _mm512_slli_epi32(e, 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

// erf(x) as Erf8.
inline __m512 Erf16(__m512 x) {
  x = _mm512_min_ps(x, _mm512_set1_ps(kErfClamp));
  x = _mm512_max_ps(x, _mm512_set1_ps(-kErfClamp));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(kErfP[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 7; ++i) {
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(kErfP[i]));
  }
  p = _mm512_mul_ps(p, x);
  __m512 q = _mm512_set1_ps(kErfQ[0]);
#pragma GCC unroll 8
  for (int i = 1; i < 5; ++i) {
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(kErfQ[i]));
  }
  return _mm512_div_ps(p, q);
}

// GELU as Gelu8: 0.5 x (1 + erf(x / sqrt 2)).
inline __m512 Gelu16(__m512 x) {
  const __m512 e = Erf16(_mm512_mul_ps(x, _mm512_set1_ps(kSqrtHalf)));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                       _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

}  // namespace
}  // namespace fastrel::simd

#endif  // FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_
