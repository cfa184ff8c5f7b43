// AVX2 N:M (2:4, 1:4) tile kernel (see sparse_gemm.h for the scheme).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {

void SparseNMTileAvx2(const PackedSparseInt8& w, const void* xv, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);
  const int k = w.k(), n = w.n(), span = w.span(), chunks = w.chunks();
  // Token rows padded with zeros so the 16-byte window of the last chunk
  // stays inside the buffer; rows >= mt stay zero.
  const int kp = chunks * span + 16;
  thread_local std::vector<int8_t> xpad;
  xpad.assign(static_cast<size_t>(16) * kp, 0);
  // u8 codes enter as x - 128 (x ^ 0x80, an s8 value) so the sign trick
  // stays exact; 128 * col_sum[n] is added back below.
  const bool u8 = act == ActType::kU8;
  for (int t = 0; t < mt; ++t) {
    if (u8) {
      for (int i = 0; i < k; ++i) {
        xpad[t * kp + i] = static_cast<int8_t>(x[t * ldx + i] ^ 0x80);
      }
    } else {
      std::memcpy(&xpad[t * kp], x + t * ldx, k);
    }
  }
  const int32_t* col_sum = w.col_sums().data();

  const uint8_t* idx = w.nm_idx().data();
  const int8_t* val = w.val().data();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int rt = 0; rt < w.n_pad() / 16; ++rt) {
    for (int h = 0; h < 2; ++h) {
      const int r0 = rt * 16 + h * 8;
      if (r0 >= n) break;
      const int rows = std::min(8, n - r0);
      for (int t0 = 0; t0 < mt; t0 += 8) {
        __m256i acc[8];
        for (auto& a : acc) a = _mm256_setzero_si256();
        const int8_t* xb = xpad.data() + t0 * kp;
        for (int c = 0; c < chunks; ++c) {
          const size_t pos =
              ((static_cast<size_t>(rt) * chunks + c) * 16 + h * 8) * 4;
          const __m256i mask =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + pos));
          const __m256i wv =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(val + pos));
          // Fully unrolled so acc[] lives in registers.
#pragma GCC unroll 8
          for (int t = 0; t < 8; ++t) {
            const __m256i xw = _mm256_broadcastsi128_si256(_mm_loadu_si128(
                reinterpret_cast<const __m128i*>(xb + t * kp + c * span)));
            const __m256i sel = _mm256_shuffle_epi8(xw, mask);
            const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(sel),
                                                   _mm256_sign_epi8(wv, sel));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, ones));
          }
        }
        const int tn = std::min(8, mt - t0);
        if (u8) {
          __m256i cs = _mm256_setzero_si256();
          if (rows == 8) {
            cs = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(col_sum + r0));
          } else {
            alignas(32) int32_t tmp[8] = {0};
            std::memcpy(tmp, col_sum + r0, rows * sizeof(int32_t));
            cs = _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
          }
          const __m256i comp = _mm256_slli_epi32(cs, 7);
          for (int t = 0; t < tn; ++t) acc[t] = _mm256_add_epi32(acc[t], comp);
        }
        for (int t = 0; t < tn; ++t) {
          int32_t* o = out + (t0 + t) * ldo + r0;
          if (rows == 8) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), acc[t]);
          } else {
            alignas(32) int32_t tmp[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc[t]);
            std::memcpy(o, tmp, rows * sizeof(int32_t));
          }
        }
      }
    }
  }
}

}  // namespace fastrel::internal
