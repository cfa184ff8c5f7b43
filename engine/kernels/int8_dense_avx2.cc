// Exact AVX2 dense int8 GEMM (the fallback for CPUs without VNNI, where
// oneDNN 2.6's int8 matmul saturates in vpmaddubsw): s8 activations x s8
// weights with the sign trick, vpmaddubsw(|x|, sign(w, x)): |x| <= 128 and
// |w| <= 127 give pair sums <= 2 * 128 * 127 = 32512 < 32767 (exact), then
// vpmaddwd by 1 to int32. Register tile: 4 tokens x 2 output channels,
// 32 input channels per step; K tail in scalar.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/int8_dense.h"

namespace fastrel::internal {
namespace {

inline int32_t HSum(__m256i v) {
  __m128i s =
      _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// out[i][j] = dot(x[i], w[j]) for i < MT, j < NT.
template <int MT, int NT>
inline void Micro(const int8_t* const* x, const int8_t* const* w, int k,
                  int32_t* out, int64_t ldo) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[MT][NT];
  for (int i = 0; i < MT; ++i) {
    for (int j = 0; j < NT; ++j) acc[i][j] = _mm256_setzero_si256();
  }
  int kk = 0;
  for (; kk + 32 <= k; kk += 32) {
    __m256i wv[NT];
    for (int j = 0; j < NT; ++j) {
      wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[j] + kk));
    }
    for (int i = 0; i < MT; ++i) {
      const __m256i xv =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + kk));
      const __m256i ax = _mm256_abs_epi8(xv);
      for (int j = 0; j < NT; ++j) {
        const __m256i p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[j], xv));
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p, ones));
      }
    }
  }
  for (int i = 0; i < MT; ++i) {
    for (int j = 0; j < NT; ++j) {
      int32_t s = HSum(acc[i][j]);
      for (int t = kk; t < k; ++t) s += int32_t{x[i][t]} * w[j][t];
      out[i * ldo + j] = s;
    }
  }
}

template <int NT>
void Rows(const int8_t* const* x, int mt, const int8_t* const* w, int k,
          int32_t* out, int64_t ldo) {
  switch (mt) {
    case 4:
      return Micro<4, NT>(x, w, k, out, ldo);
    case 3:
      return Micro<3, NT>(x, w, k, out, ldo);
    case 2:
      return Micro<2, NT>(x, w, k, out, ldo);
    default:
      return Micro<1, NT>(x, w, k, out, ldo);
  }
}

}  // namespace

void DenseInt8GemmS8Avx2(const int8_t* x, int m, int k, int64_t ldx,
                         const int8_t* wq, int n, int32_t* acc, int64_t ldc) {
  constexpr int kTileM = 64;  // token rows kept in L2 while weights stream
  for (int m0 = 0; m0 < m; m0 += kTileM) {
    const int m1 = std::min(m, m0 + kTileM);
    for (int j = 0; j < n; j += 2) {
      const int nt = std::min(2, n - j);
      const int8_t* w[2] = {wq + static_cast<int64_t>(j) * k,
                            wq + static_cast<int64_t>(j + nt - 1) * k};
      for (int i = m0; i < m1; i += 4) {
        const int mt = std::min(4, m1 - i);
        const int8_t* xr[4];
        for (int r = 0; r < 4; ++r) xr[r] = x + std::min(i + r, m1 - 1) * ldx;
        int32_t* o = acc + i * ldc + j;
        if (nt == 2) {
          Rows<2>(xr, mt, w, k, o, ldc);
        } else {
          Rows<1>(xr, mt, w, k, o, ldc);
        }
      }
    }
  }
}

}  // namespace fastrel::internal
