// AVX-512 VNNI tile kernels for 4x1 and N:M (see sparse_gemm.h). Activations
// enter vpdpbusd as u8 (x ^ 0x80 = x + 128); the 128 * col_sum[n] excess is
// subtracted before the store.
// GCC 12 reports a false -Wmaybe-uninitialized inside avx512fintrin.h for
// intrinsics built on _mm512_undefined_*; the values are fully written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/int8_transpose.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {
namespace {

struct alignas(64) Row32 {
  uint32_t v[16];
};

// xq[k].v[t] = (x[t][k] ^ flip) as u8 in the low byte of a dword (flip =
// 0x80 turns s8 into u8 = x + 128; 0 keeps u8 codes).
void TransposeToU8Dwords(const int8_t* x, int64_t ldx, int mt, int k,
                         uint8_t flip_byte, Row32* xq) {
  thread_local std::vector<int8_t> zeros;
  if (zeros.size() < static_cast<size_t>(k)) zeros.assign(k, 0);
  const int8_t* rows[16];
  for (int t = 0; t < 16; ++t) rows[t] = t < mt ? x + t * ldx : zeros.data();
  const __m128i flip = _mm_set1_epi8(static_cast<char>(flip_byte));
  int kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    __m128i r[16];
    for (int t = 0; t < 16; ++t) {
      r[t] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + kk));
    }
    Transpose16x16Bytes(r);
    for (int i = 0; i < 16; ++i) {
      _mm512_store_si512(xq[kk + i].v,
                         _mm512_cvtepu8_epi32(_mm_xor_si128(r[i], flip)));
    }
  }
  for (; kk < k; ++kk) {
    for (int t = 0; t < 16; ++t) {
      xq[kk].v[t] = static_cast<uint8_t>(rows[t][kk] ^ flip_byte);
    }
  }
}

}  // namespace

void Sparse4x1TileVnni(const PackedSparseInt8& w, const void* xv, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);
  // s8: x + 128 enters vpdpbusd, 128 * col_sum is subtracted; u8: as is.
  const bool s8 = act == ActType::kS8;
  const int k = w.k();
  thread_local std::vector<Row32> xbuf;
  xbuf.resize(k);
  TransposeToU8Dwords(x, ldx, mt, k, s8 ? 0x80 : 0, xbuf.data());
  const Row32* xq = xbuf.data();
  const uint32_t* row_ptr = w.row_ptr().data();
  const uint16_t* col = w.col().data();
  const int32_t* vq = reinterpret_cast<const int32_t*>(w.val().data());
  const int32_t* col_sum = w.col_sums().data();
  for (int rb = 0; rb < w.n() / 4; ++rb) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    const uint32_t qend = row_ptr[rb + 1] / 4;
    for (uint32_t q = row_ptr[rb] / 4; q < qend; ++q) {
      const uint16_t* cq = col + 4 * q;
      const int32_t* wq = vq + 4 * q;
      _mm_prefetch(reinterpret_cast<const char*>(wq + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(cq + 64), _MM_HINT_T0);
      const __m512i x0 = _mm512_load_si512(xq[cq[0]].v);
      const __m512i x1 = _mm512_slli_epi32(_mm512_load_si512(xq[cq[1]].v), 8);
      const __m512i x2 = _mm512_slli_epi32(_mm512_load_si512(xq[cq[2]].v), 16);
      const __m512i x3 = _mm512_slli_epi32(_mm512_load_si512(xq[cq[3]].v), 24);
      const __m512i a =
          _mm512_or_si512(_mm512_ternarylogic_epi32(x0, x1, x2, 0xFE), x3);
      a0 = _mm512_dpbusd_epi32(a0, a, _mm512_set1_epi32(wq[0]));
      a1 = _mm512_dpbusd_epi32(a1, a, _mm512_set1_epi32(wq[1]));
      a2 = _mm512_dpbusd_epi32(a2, a, _mm512_set1_epi32(wq[2]));
      a3 = _mm512_dpbusd_epi32(a3, a, _mm512_set1_epi32(wq[3]));
    }
    const int32_t* cs = col_sum + 4 * rb;
    const int32_t c = s8 ? 128 : 0;
    a0 = _mm512_sub_epi32(a0, _mm512_set1_epi32(c * cs[0]));
    a1 = _mm512_sub_epi32(a1, _mm512_set1_epi32(c * cs[1]));
    a2 = _mm512_sub_epi32(a2, _mm512_set1_epi32(c * cs[2]));
    a3 = _mm512_sub_epi32(a3, _mm512_set1_epi32(c * cs[3]));
    // 4x16 -> 16x4 transpose in registers: 128-bit lane L of r_u holds
    // row t = 4L + u as {a0[t], a1[t], a2[t], a3[t]}.
    const __m512i lo01 = _mm512_unpacklo_epi32(a0, a1);
    const __m512i hi01 = _mm512_unpackhi_epi32(a0, a1);
    const __m512i lo23 = _mm512_unpacklo_epi32(a2, a3);
    const __m512i hi23 = _mm512_unpackhi_epi32(a2, a3);
    const __m512i r[4] = {
        _mm512_unpacklo_epi64(lo01, lo23), _mm512_unpackhi_epi64(lo01, lo23),
        _mm512_unpacklo_epi64(hi01, hi23), _mm512_unpackhi_epi64(hi01, hi23)};
    int32_t* o = out + 4 * rb;
    if (mt == 16) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + u * ldo),
                         _mm512_castsi512_si128(r[u]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + (4 + u) * ldo),
                         _mm512_extracti32x4_epi32(r[u], 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + (8 + u) * ldo),
                         _mm512_extracti32x4_epi32(r[u], 2));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o + (12 + u) * ldo),
                         _mm512_extracti32x4_epi32(r[u], 3));
      }
    } else {
      alignas(64) int32_t tmp[4][16];
      for (int u = 0; u < 4; ++u) _mm512_store_si512(tmp[u], r[u]);
      for (int t = 0; t < mt; ++t) {
        std::memcpy(o + t * ldo, &tmp[t % 4][4 * (t / 4)], 4 * sizeof(int32_t));
      }
    }
  }
}

void SparseNMTileVnni(const PackedSparseInt8& w, const void* xv, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);
  const bool s8 = act == ActType::kS8;
  const uint8_t flip = s8 ? 0x80 : 0;
  const int k = w.k(), n = w.n(), span = w.span(), chunks = w.chunks();
  const int kp = chunks * span + 16;
  thread_local std::vector<uint8_t> xpad;
  xpad.assign(static_cast<size_t>(16) * kp, 0x80);
  for (int t = 0; t < mt; ++t) {
    const int8_t* src = x + t * ldx;
    uint8_t* dst = &xpad[t * kp];
    for (int i = 0; i < k; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ flip);
  }
  const uint8_t* idx = w.nm_idx().data();
  const int8_t* val = w.val().data();
  const int32_t* col_sum = w.col_sums().data();
  for (int rt = 0; rt < w.n_pad() / 16; ++rt) {
    const int r0 = rt * 16;
    const int rows = std::min(16, n - r0);
    const __mmask16 rmask = static_cast<__mmask16>((1u << rows) - 1);
    const __m512i comp =
        s8 ? _mm512_slli_epi32(_mm512_maskz_loadu_epi32(rmask, col_sum + r0), 7)
           : _mm512_setzero_si512();
    for (int t0 = 0; t0 < mt; t0 += 8) {
      __m512i acc[8];
      for (auto& a : acc) a = _mm512_setzero_si512();
      const uint8_t* xb = xpad.data() + t0 * kp;
      for (int c = 0; c < chunks; ++c) {
        const size_t pos = (static_cast<size_t>(rt) * chunks + c) * 64;
        const __m512i mask = _mm512_loadu_si512(idx + pos);
        const __m512i wv = _mm512_loadu_si512(val + pos);
        // Fully unrolled so acc[] lives in registers.
#pragma GCC unroll 8
        for (int t = 0; t < 8; ++t) {
          const __m512i xw = _mm512_broadcast_i32x4(_mm_loadu_si128(
              reinterpret_cast<const __m128i*>(xb + t * kp + c * span)));
          acc[t] =
              _mm512_dpbusd_epi32(acc[t], _mm512_shuffle_epi8(xw, mask), wv);
        }
      }
      const int tn = std::min(8, mt - t0);
      for (int t = 0; t < tn; ++t) {
        _mm512_mask_storeu_epi32(out + (t0 + t) * ldo + r0, rmask,
                                 _mm512_sub_epi32(acc[t], comp));
      }
    }
  }
}

}  // namespace fastrel::internal
