// Internal helper for the int8 SIMD kernels: 16 x 16 byte transpose.
// Header-only, compiled into each SIMD translation unit with its own flags
// (needs SSE2 only).
#ifndef FASTREL_ENGINE_KERNELS_INT8_TRANSPOSE_H_
#define FASTREL_ENGINE_KERNELS_INT8_TRANSPOSE_H_

#include <immintrin.h>

namespace fastrel::internal {

// In: r[t] = 16 bytes of row t. Out: r[i] = byte i of rows 0..15.
inline void Transpose16x16Bytes(__m128i r[16]) {
  __m128i a[16], b[16];
  for (int i = 0; i < 8; ++i) {
    a[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);      // cols 0..7
    a[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);  // cols 8..15
  }
  // b[cg * 4 + rg]: rows 4rg..4rg+3, cols 4cg..4cg+3 (4 bytes per col).
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 4; ++i) {
      b[(2 * h) * 4 + i] =
          _mm_unpacklo_epi16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
      b[(2 * h + 1) * 4 + i] =
          _mm_unpackhi_epi16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
    }
  }
  for (int cg = 0; cg < 4; ++cg) {
    const __m128i* bb = b + cg * 4;
    const __m128i lo0 = _mm_unpacklo_epi32(bb[0], bb[1]);  // rows 0-7, c0 c1
    const __m128i hi0 = _mm_unpackhi_epi32(bb[0], bb[1]);  // rows 0-7, c2 c3
    const __m128i lo1 = _mm_unpacklo_epi32(bb[2], bb[3]);  // rows 8-15
    const __m128i hi1 = _mm_unpackhi_epi32(bb[2], bb[3]);
    r[4 * cg + 0] = _mm_unpacklo_epi64(lo0, lo1);
    r[4 * cg + 1] = _mm_unpackhi_epi64(lo0, lo1);
    r[4 * cg + 2] = _mm_unpacklo_epi64(hi0, hi1);
    r[4 * cg + 3] = _mm_unpackhi_epi64(hi0, hi1);
  }
}

}  // namespace fastrel::internal

#endif  // FASTREL_ENGINE_KERNELS_INT8_TRANSPOSE_H_
