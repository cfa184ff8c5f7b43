// AVX-512 VNNI versions of the attention_int8.h integer products (compiled
// with FASTREL_AVX512_FLAGS; called only where IsaAvailable(kAvx512Vnni)).
// Both products run vpdpbusd (u8 x s8, 4 products summed into int32 without
// intermediate saturation): P.V directly (u8 P, s8 V, groups of 4 keys);
// Q.K^T on q + 128 (u8) with a per-key correction -128 * sum_d k. Both exact.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/attention_int8.h"
#include "engine/kernels/attention_int8_pack.h"

namespace fastrel {
namespace {

constexpr int kRows = 6;  // rows of C per micro-tile

// C[r][0..16*NC) (masked to `cols` <= 16*NC) for R rows.
template <int R, int NC>
void PairTile(const uint32_t* a, int ld_a, const uint32_t* b, int ld_b, int kp,
              const int32_t* init, int32_t* c, int ld_c, int cols) {
  __m512i acc[R][NC];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) {
      acc[r][t] = init != nullptr ? _mm512_loadu_si512(init + 16 * t)
                                  : _mm512_setzero_si512();
    }
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
        acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], av, bv[t]);
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
                  int ld_b, int kp, const int32_t* init, int32_t* c, int ld_c,
                  int cols) {
  switch (r) {
    case 6:
      return PairTile<6, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
    case 5:
      return PairTile<5, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
    case 4:
      return PairTile<4, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
    case 3:
      return PairTile<3, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
    case 2:
      return PairTile<2, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
    default:
      return PairTile<1, NC>(a, ld_a, b, ld_b, kp, init, c, ld_c, cols);
  }
}

// C[m x n] = init + A[m x kp] . B[kp x n] (init: nullable, one int32 per
// column, >= ld_b entries); B columns are padded to ld_b, a multiple of
// 32 >= n.
void PairGemm(const uint32_t* a, int ld_a, int m, const uint32_t* b, int ld_b,
              int n, int kp, const int32_t* init, int32_t* c, int ld_c) {
  for (int i = 0; i < m; i += kRows) {
    const int r = std::min(kRows, m - i);
    const uint32_t* ai = a + static_cast<long>(i) * ld_a;
    int32_t* ci = c + static_cast<long>(i) * ld_c;
    int j = 0;
    for (; j + 16 < n; j += 32) {
      PairTileRows<2>(r, ai, ld_a, b + j, ld_b, kp,
                      init != nullptr ? init + j : nullptr, ci + j, ld_c,
                      n - j);
    }
    if (j < n)
      PairTileRows<1>(r, ai, ld_a, b + j, ld_b, kp,
                      init != nullptr ? init + j : nullptr, ci + j, ld_c,
                      n - j);
  }
}

// a[r][q] = p[r][4q..4q+3] (u8 quads; keys [n, 4 * ceil(n / 4)) are 0).
void PackRowQuads(const uint8_t* p, int ld_p, int rows, int n, uint32_t* a,
                  int ld_a) {
  for (int r = 0; r < rows; ++r) {
    auto* ar = reinterpret_cast<uint8_t*>(a + static_cast<long>(r) * ld_a);
    std::memcpy(ar, p + static_cast<long>(r) * ld_p, n);
    std::memset(ar + n, 0, 4 * static_cast<size_t>(ld_a) - n);
  }
}

// V quads: b[q][c] = (v[4q][c], v[4q+1][c], v[4q+2][c], v[4q+3][c]) bytes
// for c < dh (rows >= n are 0); columns [dh, ld_b) are zero.
void PackValueQuads(const int8_t* v, int ld_v, int n, int dh, uint32_t* b,
                    int ld_b, const int8_t* zero_row) {
  const int nq = (n + 3) / 4;
  const int d16 = dh / 16 * 16;
  for (int q = 0; q < nq; ++q) {
    const int8_t* r[4];
    for (int t = 0; t < 4; ++t) {
      r[t] = 4 * q + t < n ? v + static_cast<long>(4 * q + t) * ld_v : zero_row;
    }
    uint32_t* bq = b + static_cast<long>(q) * ld_b;
    for (int c = 0; c < d16; c += 16) {
      const __m128i x0 =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[0] + c));
      const __m128i x1 =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[1] + c));
      const __m128i x2 =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[2] + c));
      const __m128i x3 =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[3] + c));
      const __m128i lo01 = _mm_unpacklo_epi8(x0, x1),
                    hi01 = _mm_unpackhi_epi8(x0, x1);
      const __m128i lo23 = _mm_unpacklo_epi8(x2, x3),
                    hi23 = _mm_unpackhi_epi8(x2, x3);
      auto* o = reinterpret_cast<__m128i*>(bq + c);
      _mm_storeu_si128(o, _mm_unpacklo_epi16(lo01, lo23));
      _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(lo01, lo23));
      _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(hi01, hi23));
      _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(hi01, hi23));
    }
    for (int c = d16; c < dh; ++c) {
      bq[c] = static_cast<uint32_t>(static_cast<uint8_t>(r[0][c])) |
              static_cast<uint32_t>(static_cast<uint8_t>(r[1][c])) << 8 |
              static_cast<uint32_t>(static_cast<uint8_t>(r[2][c])) << 16 |
              static_cast<uint32_t>(static_cast<uint8_t>(r[3][c])) << 24;
    }
    std::memset(bq + dh, 0, sizeof(uint32_t) * (ld_b - dh));
  }
}

// Q as u8 quads for vpdpbusd: a[i][g] = bytes q[i][4g..4g+3] + 128 (i.e.
// q ^ 0x80); dims [dh, 4 * ld_a) are 128 (q = 0; their keys are 0 anyway).
void PackQueryQuads(const int8_t* q, int ld_q, int rows, int dh, uint32_t* a,
                    int ld_a) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int i = 0; i < rows; ++i) {
    const int8_t* qi = q + static_cast<long>(i) * ld_q;
    auto* ai = reinterpret_cast<uint8_t*>(a + static_cast<long>(i) * ld_a);
    int d = 0;
    for (; d + 64 <= dh; d += 64) {
      _mm512_storeu_si512(ai + d,
                          _mm512_xor_si512(_mm512_loadu_si512(qi + d), flip));
    }
    for (; d < dh; ++d) ai[d] = static_cast<uint8_t>(qi[d]) ^ 0x80;
    std::memset(ai + dh, 0x80, 4 * static_cast<size_t>(ld_a) - dh);
  }
}

// K^T quads: b[g][j] = bytes k[j][4g..4g+3] (dims >= dh are 0) for j < n;
// columns [n, ld_b) are zero. Blocks of 8 keys x 32 dims are an 8x8 int32
// transpose.
void PackKeyQuads(const int8_t* k, int ld_k, int n, int dh, uint32_t* b,
                  int ld_b) {
  const int kq = (dh + 3) / 4;
  for (int g = 0; g < kq; ++g) {
    std::memset(b + static_cast<long>(g) * ld_b + n, 0,
                sizeof(uint32_t) * (ld_b - n));
  }
  const int d32 = dh / 32 * 32;
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int d = 0; d < d32; d += 32) {
      __m256i r[8], o[8];
      for (int t = 0; t < 8; ++t) {
        r[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
            k + static_cast<long>(j + t) * ld_k + d));
      }
      Transpose8x8(r, o);
      for (int t = 0; t < 8; ++t) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(
                                b + static_cast<long>(d / 4 + t) * ld_b + j),
                            o[t]);
      }
    }
  }
  for (int jj = 0; jj < n; ++jj) {
    const int8_t* kj = k + static_cast<long>(jj) * ld_k;
    for (int g = jj < j ? d32 / 4 : 0; g < kq; ++g) {
      uint32_t w = 0;
      for (int t = 0; t < 4 && 4 * g + t < dh; ++t) {
        w |= static_cast<uint32_t>(static_cast<uint8_t>(kj[4 * g + t]))
             << (8 * t);
      }
      b[static_cast<long>(g) * ld_b + jj] = w;
    }
  }
}

// corr[j] = -128 * sum_d k[j][d] for j < ld_b (a multiple of 16), from the
// packed quads: cancels the +128 of the u8 queries.
void KeyCorrection(const uint32_t* b, int ld_b, int kq, int32_t* corr) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (int j = 0; j < ld_b; j += 16) {
    __m512i sum = _mm512_setzero_si512();
    for (int g = 0; g < kq; ++g) {
      sum = _mm512_dpbusd_epi32(
          sum, ones, _mm512_loadu_si512(b + static_cast<long>(g) * ld_b + j));
    }
    _mm512_storeu_si512(corr + j,
                        _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
  }
}

thread_local PairScratch scratch;
thread_local std::vector<int32_t> key_corr;
thread_local std::vector<int8_t> zero_row;

}  // namespace

void Int8QKt_vnni(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                  int n_k, int dh, int32_t* s, int ld_s) {
  // vpdpbusd on (q + 128) x k, minus 128 * sum_d k[j][d]: exact.
  const int kq = (dh + 3) / 4;
  const int ld_b = (n_k + 31) / 32 * 32;
  uint32_t* a = scratch.A(static_cast<size_t>(n_q) * kq);
  uint32_t* b = scratch.B(static_cast<size_t>(kq) * ld_b);
  if (key_corr.size() < static_cast<size_t>(ld_b)) key_corr.resize(ld_b);
  PackQueryQuads(q, ld_q, n_q, dh, a, kq);
  PackKeyQuads(k, ld_k, n_k, dh, b, ld_b);
  KeyCorrection(b, ld_b, kq, key_corr.data());
  PairGemm(a, kq, n_q, b, ld_b, n_k, kq, key_corr.data(), s, ld_s);
}

void Int8PV_vnni(const uint8_t* p, int ld_p, int n_rows, int n_k,
                 const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c) {
  const int kq = (n_k + 3) / 4;
  const int ld_b = (dh + 31) / 32 * 32;
  uint32_t* a = scratch.A(static_cast<size_t>(n_rows) * kq);
  uint32_t* b = scratch.B(static_cast<size_t>(kq) * ld_b);
  if (zero_row.size() < static_cast<size_t>(dh)) zero_row.resize(dh, 0);
  PackRowQuads(p, ld_p, n_rows, n_k, a, kq);
  PackValueQuads(v, ld_v, n_k, dh, b, ld_b, zero_row.data());
  PairGemm(a, kq, n_rows, b, ld_b, dh, kq, nullptr, c, ld_c);
}

}  // namespace fastrel
