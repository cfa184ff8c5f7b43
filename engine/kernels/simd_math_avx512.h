// Vectorised math shared by the AVX-512 kernels: exp on 16 floats, the
// lane-for-lane twin of simd::Exp8 (simd_math_avx2.h: same operations in the
// same order, so both give bit-identical lanes). Header-only; include it ONLY
// from translation units compiled with ${FASTREL_AVX512_FLAGS}, which are
// reached through CPUID dispatch. Pure functions: thread-safe.
#ifndef FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_
#define FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_

#include <immintrin.h>

namespace fastrel::simd {

// exp(x), Cephes-style range reduction + degree-5 polynomial; relative error
// ~2 ulp on [-87, 88]; inputs below -87.3 give ~0.
inline __m512 Exp16(__m512 x) {
  x = _mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f));
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365447504f));
  __m512 fx = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  __m512 y = _mm512_set1_ps(1.9875691500E-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  y = _mm512_fmadd_ps(y, x2, _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127));
  e = _mm512_slli_epi32(e, 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

}  // namespace fastrel::simd

#endif  // FASTREL_ENGINE_KERNELS_SIMD_MATH_AVX512_H_
