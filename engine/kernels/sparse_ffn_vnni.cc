// AVX-512 VNNI first half of the fused feed-forward tile (sparse_ffn.h), at
// 64 tokens: the VNNI 4x1 loop (sparse_vnni_core.h), then the AVX-512
// epilogue's operations (epilogue_avx512.cc: Step16 without zero point and
// residual; its GELU is bit-identical to the AVX2 one) channel-major, and
// the per-token codes written as the 64-byte activation rows the VNNI tile
// reads.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/simd_math_avx512.h"
#include "engine/kernels/sparse_ffn.h"
#include "engine/kernels/sparse_vnni_core.h"

namespace fastrel::internal {
namespace {

constexpr int kW = 64;

// Token of lane i (0..15) of the loop's accumulator group u: 128-bit lane
// L = i / 4, dword i % 4 -> token 16L + 4u + i % 4.
inline int TokenOf(int u, int i) { return 16 * (i / 4) + 4 * u + i % 4; }

template <bool kBias, bool kGelu>
inline __m512 Dequant(__m512i acc, __m512 vsa, __m512 ws, __m512 b) {
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(vsa, ws));
  if constexpr (kBias) y = _mm512_add_ps(y, b);
  if constexpr (kGelu) y = simd::Gelu16(y);
  return y;
}

template <bool kBias, bool kGelu>
void FirstTile(const PackedSparseInt8& w1, const int8_t* x, int64_t ldx, int mt,
               const Epilogue& ep1, uint8_t* xq2, float* scale_out) {
  const int k = w1.k(), n = w1.n();
  thread_local std::vector<uint8_t> xbuf;
  xbuf.resize(static_cast<size_t>(k) * kW);
  vnni::TransposeToBytes<kW>(x, ldx, mt, k, 0x80, xbuf.data());
  // h, channel-major: channel c's group u (16 tokens) at h[64c + 16u].
  struct alignas(64) Vec16 {
    float v[16];
  };
  thread_local std::vector<Vec16> hbuf;
  hbuf.resize(4 * static_cast<size_t>(n));
  float* h = hbuf[0].v;
  // Padding tokens (t >= mt) get scale 0: their sums are 0 (zero codes), so
  // their h is GELU(bias), finite; their codes are never used.
  alignas(64) float sa[4][16];
  for (int u = 0; u < 4; ++u) {
    for (int i = 0; i < 16; ++i) {
      const int t = TokenOf(u, i);
      sa[u][i] = t < mt ? ep1.act_scale[t] : 0.0f;
    }
  }
  const __m512 vsa[4] = {_mm512_load_ps(sa[0]), _mm512_load_ps(sa[1]),
                         _mm512_load_ps(sa[2]), _mm512_load_ps(sa[3])};
  __m512 mx0 = _mm512_setzero_ps(), mx1 = mx0, mx2 = mx0, mx3 = mx0;
  const float* ws = ep1.weight_scale;
  const float* bias = ep1.bias;
  vnni::RowBlocks4x1<kW>(
      w1, xbuf.data(), true, [&](int rb, const __m512i(&acc)[4][4]) {
        for (int j = 0; j < 4; ++j) {
          const int ch = 4 * rb + j;
          const __m512 vw = _mm512_set1_ps(ws[ch]);
          const __m512 vb = kBias ? _mm512_set1_ps(bias[ch]) : vw;
          const __m512 y0 = Dequant<kBias, kGelu>(acc[0][j], vsa[0], vw, vb);
          const __m512 y1 = Dequant<kBias, kGelu>(acc[1][j], vsa[1], vw, vb);
          const __m512 y2 = Dequant<kBias, kGelu>(acc[2][j], vsa[2], vw, vb);
          const __m512 y3 = Dequant<kBias, kGelu>(acc[3][j], vsa[3], vw, vb);
          float* hc = h + kW * ch;
          _mm512_store_ps(hc, y0);
          _mm512_store_ps(hc + 16, y1);
          _mm512_store_ps(hc + 32, y2);
          _mm512_store_ps(hc + 48, y3);
          mx0 = _mm512_max_ps(mx0, _mm512_abs_ps(y0));
          mx1 = _mm512_max_ps(mx1, _mm512_abs_ps(y1));
          mx2 = _mm512_max_ps(mx2, _mm512_abs_ps(y2));
          mx3 = _mm512_max_ps(mx3, _mm512_abs_ps(y3));
        }
      });
  // Per token (QuantizeRowSymmetric's tail): max 0 -> codes 0, scale 1;
  // else inv = 127 / max, scale = max / 127. inv = 0 gives the 0 codes.
  const __m512 c127 = _mm512_set1_ps(127.0f);
  const __m512 mx[4] = {mx0, mx1, mx2, mx3};
  __m512 inv[4];
  for (int u = 0; u < 4; ++u) {
    const __mmask16 nz =
        _mm512_cmp_ps_mask(mx[u], _mm512_setzero_ps(), _CMP_NEQ_UQ);
    inv[u] = _mm512_maskz_div_ps(nz, c127, mx[u]);
    alignas(64) float s[16];
    _mm512_store_ps(s,
                    _mm512_mask_div_ps(_mm512_set1_ps(1.0f), nz, mx[u], c127));
    for (int i = 0; i < 16; ++i) {
      const int t = TokenOf(u, i);
      if (t < mt) scale_out[t] = s[i];
    }
  }
  // Codes in token order: per 128-bit lane L, packs of groups (0, 1) give
  // tokens 16L + 0..7 and of (2, 3) tokens 16L + 8..15 as int16; the byte
  // pack of the two gives tokens 16L + 0..15. + 128 (u8, s8 scheme).
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int ch = 0; ch < n; ++ch) {
    const float* hc = h + kW * ch;
    __m512i q[4];
    for (int u = 0; u < 4; ++u) {
      q[u] = _mm512_cvtps_epi32(
          _mm512_mul_ps(_mm512_load_ps(hc + 16 * u), inv[u]));
    }
    const __m512i a = _mm512_packs_epi32(q[0], q[1]);
    const __m512i b = _mm512_packs_epi32(q[2], q[3]);
    _mm512_store_si512(xq2 + kW * ch,
                       _mm512_xor_si512(_mm512_packs_epi16(a, b), flip));
  }
}

}  // namespace

void SparseFfnFirstTileVnni64(const PackedSparseInt8& w1, const int8_t* x,
                              int64_t ldx, int mt, const Epilogue& ep1,
                              uint8_t* xq2, float* scale_out) {
  const bool bias = ep1.bias != nullptr;
  if (ep1.gelu) {
    bias ? FirstTile<true, true>(w1, x, ldx, mt, ep1, xq2, scale_out)
         : FirstTile<false, true>(w1, x, ldx, mt, ep1, xq2, scale_out);
  } else {
    bias ? FirstTile<true, false>(w1, x, ldx, mt, ep1, xq2, scale_out)
         : FirstTile<false, false>(w1, x, ldx, mt, ep1, xq2, scale_out);
  }
}

}  // namespace fastrel::internal
