// AVX-512 twins of the dynamic symmetric row quantizer (quantize_avx2.cc):
// the same float operations (max |x|, x * (127 / amax) rounded by the MXCSR
// mode, round-to-nearest-even), 16 lanes at a time with a masked tail, so the
// codes and scales are bit-identical to the AVX2 and reference rows. The
// int32 -> int8 narrowing saturates (vpmovsdb) where AVX2 packs with
// saturation; neither triggers, as |x * inv| <= 127 * (1 + 2^-22) rounds to
// at most 127.
// GCC 12 reports false -W(maybe-)uninitialized warnings inside
// avx512fintrin.h for intrinsics built on _mm512_undefined_*.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/quantize.h"

namespace fastrel::internal {
namespace {

inline __mmask16 TailMask(int left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff)
                    : static_cast<__mmask16>((1u << left) - 1);
}

}  // namespace

void QuantizeRowWithMaxAvx512(const float* x, int k, float inv, int8_t* q) {
  const __m512 vinv = _mm512_set1_ps(inv);
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    const __m512i c0 =
        _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), vinv));
    const __m512i c1 =
        _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i + 16), vinv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i),
                     _mm512_cvtsepi32_epi8(c0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i + 16),
                     _mm512_cvtsepi32_epi8(c1));
  }
  for (; i < k; i += 16) {
    const __mmask16 mask = TailMask(k - i);
    const __m512i c = _mm512_cvtps_epi32(
        _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), vinv));
    _mm512_mask_cvtsepi32_storeu_epi8(q + i, mask, c);
  }
}

float QuantizeRowSymmetricAvx512(const float* x, int k, int8_t* q) {
  // Two independent max chains; masked-off lanes read 0 (max is exact in any
  // order, so the result equals the AVX2 / reference max).
  __m512 m0 = _mm512_setzero_ps(), m1 = m0;
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(x + i + 16)));
  }
  for (; i < k; i += 16) {
    m0 = _mm512_max_ps(
        m0, _mm512_abs_ps(_mm512_maskz_loadu_ps(TailMask(k - i), x + i)));
  }
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
  if (amax == 0.0f) {
    std::fill(q, q + k, int8_t{0});
    return 1.0f;
  }
  QuantizeRowWithMaxAvx512(x, k, 127.0f / amax, q);
  return amax / 127.0f;
}

}  // namespace fastrel::internal
