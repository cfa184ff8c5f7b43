// AVX-512 VNNI versions of the attention_int8.h integer products (compiled
// with FASTREL_AVX512_FLAGS; called only where IsaAvailable(kAvx512Vnni)).
// Same s16-pair micro-GEMM as the AVX2 file on zmm: vpdpwssd (the VNNI
// pairwise s16 product sum into int32, no saturation): exact.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/attention_int8.h"
#include "engine/kernels/attention_int8_pack.h"

namespace fastrel {
namespace {

constexpr int kRows = 6;  // rows of C per micro-tile

// C[r][0..16*NC) (masked to `cols` <= 16*NC) for R rows.
template <int R, int NC>
void PairTile(const uint32_t* a, int ld_a, const uint32_t* b, int ld_b, int kp,
              int32_t* c, int ld_c, int cols) {
  __m512i acc[R][NC];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) acc[r][t] = _mm512_setzero_si512();
  }
  for (int p = 0; p < kp; ++p) {
    const uint32_t* bp = b + static_cast<long>(p) * ld_b;
    __m512i bv[NC];
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) bv[t] = _mm512_loadu_si512(bp + 16 * t);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i av = _mm512_set1_epi32(
          static_cast<int>(a[static_cast<long>(r) * ld_a + p]));
#pragma GCC unroll 2
      for (int t = 0; t < NC; ++t) {
        acc[r][t] = _mm512_dpwssd_epi32(acc[r][t], av, bv[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    int32_t* cr = c + static_cast<long>(r) * ld_c;
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) {
      const int left = cols - 16 * t;
      if (left >= 16) {
        _mm512_storeu_si512(cr + 16 * t, acc[r][t]);
      } else if (left > 0) {
        const __mmask16 m = static_cast<__mmask16>((1u << left) - 1);
        _mm512_mask_storeu_epi32(cr + 16 * t, m, acc[r][t]);
      }
    }
  }
}

template <int NC>
void PairTileRows(int r, const uint32_t* a, int ld_a, const uint32_t* b,
                  int ld_b, int kp, int32_t* c, int ld_c, int cols) {
  switch (r) {
    case 6:
      return PairTile<6, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
    case 5:
      return PairTile<5, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
    case 4:
      return PairTile<4, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
    case 3:
      return PairTile<3, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
    case 2:
      return PairTile<2, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
    default:
      return PairTile<1, NC>(a, ld_a, b, ld_b, kp, c, ld_c, cols);
  }
}

// C[m x n] = A[m x kp] . B[kp x n]; B columns are padded to ld_b, a multiple
// of 16 >= n.
void PairGemm(const uint32_t* a, int ld_a, int m, const uint32_t* b, int ld_b,
              int n, int kp, int32_t* c, int ld_c) {
  for (int i = 0; i < m; i += kRows) {
    const int r = std::min(kRows, m - i);
    const uint32_t* ai = a + static_cast<long>(i) * ld_a;
    int32_t* ci = c + static_cast<long>(i) * ld_c;
    int j = 0;
    for (; j + 16 < n; j += 32) {
      PairTileRows<2>(r, ai, ld_a, b + j, ld_b, kp, ci + j, ld_c, n - j);
    }
    if (j < n)
      PairTileRows<1>(r, ai, ld_a, b + j, ld_b, kp, ci + j, ld_c, n - j);
  }
}

thread_local PairScratch scratch;

}  // namespace

void Int8QKt_vnni(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                  int n_k, int dh, int32_t* s, int ld_s) {
  const int kp = (dh + 1) / 2;
  const int ld_b = (n_k + 31) / 32 * 32;
  uint32_t* a = scratch.A(static_cast<size_t>(n_q) * kp);
  uint32_t* b = scratch.B(static_cast<size_t>(kp) * ld_b);
  PackRowPairs(q, ld_q, n_q, dh, a, kp);
  PackKeyPairs(k, ld_k, n_k, dh, b, ld_b);
  PairGemm(a, kp, n_q, b, ld_b, n_k, kp, s, ld_s);
}

void Int8PV_vnni(const uint8_t* p, int ld_p, int n_rows, int n_k,
                 const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c) {
  const int kp = (n_k + 1) / 2;
  const int ld_b = (dh + 31) / 32 * 32;
  uint32_t* a = scratch.A(static_cast<size_t>(n_rows) * kp);
  uint32_t* b = scratch.B(static_cast<size_t>(kp) * ld_b);
  PackRowPairs(p, ld_p, n_rows, n_k, a, kp);
  PackValuePairs(v, ld_v, n_k, dh, b, ld_b);
  PairGemm(a, kp, n_rows, b, ld_b, dh, kp, c, ld_c);
}

}  // namespace fastrel
