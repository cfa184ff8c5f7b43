// AVX2 first half of the fused feed-forward tile (sparse_ffn.h).
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/simd_math_avx2.h"
#include "engine/kernels/sparse_4x1_avx2_core.h"
#include "engine/kernels/sparse_ffn.h"

namespace fastrel::internal {
namespace {

using avx2_4x1::Row32;

// The row-block loop's lanes hold tokens {0-3, 8-11} ("lo") and
// {4-7, 12-15} ("hi"). Lane i of lo / hi is token kLoToken[i] / kHiToken[i].
constexpr int kLoToken[8] = {0, 1, 2, 3, 8, 9, 10, 11};
constexpr int kHiToken[8] = {4, 5, 6, 7, 12, 13, 14, 15};

inline __m256 Gather8(const float* v16, const int* token) {
  return _mm256_setr_ps(v16[token[0]], v16[token[1]], v16[token[2]],
                        v16[token[3]], v16[token[4]], v16[token[5]],
                        v16[token[6]], v16[token[7]]);
}

// One channel's 8 tokens: the unfused epilogue row's operations (epilogue
// .cc: Step8 without zero point and residual), channel-major.
template <bool kBias, bool kGelu>
inline __m256 Dequant(__m256i acc, __m256 vsa, __m256 ws, __m256 b) {
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(vsa, ws));
  if constexpr (kBias) y = _mm256_add_ps(y, b);
  if constexpr (kGelu) y = simd::Gelu8(y);
  return y;
}

template <bool kBias, bool kGelu>
void FirstTile(const PackedSparseInt8& w1, const int8_t* x, int64_t ldx, int mt,
               const Epilogue& ep1, uint8_t* xt2, float* scale_out) {
  const int k = w1.k(), n = w1.n();
  thread_local std::vector<Row32> xbuf;
  xbuf.resize(k);
  uint8_t* xt = xbuf[0].v;
  avx2_4x1::TransposeToScratch<false>(x, ldx, mt, k, xt);
  // h, channel-major: channel c's lo lanes at h[16c], hi lanes at h[16c + 8].
  struct alignas(32) Vec8 {
    float v[8];
  };
  thread_local std::vector<Vec8> hbuf;
  hbuf.resize(2 * static_cast<size_t>(n));
  float* h = hbuf[0].v;
  // Padding tokens (t >= mt) get scale 0: their sums are 0 (zero codes), so
  // their h is GELU(bias), finite; their codes are never used.
  float sa[16] = {};
  for (int t = 0; t < mt; ++t) sa[t] = ep1.act_scale[t];
  const __m256 sa_lo = Gather8(sa, kLoToken), sa_hi = Gather8(sa, kHiToken);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 max_lo = _mm256_setzero_ps(), max_hi = _mm256_setzero_ps();
  const float* ws = ep1.weight_scale;
  const float* bias = ep1.bias;
  avx2_4x1::RowBlocks(
      w1, xt, 128, {reinterpret_cast<uintptr_t>(x) + 16 * ldx, ldx, k},
      [&](int rb, const __m256i* acc) {
        for (int c = 0; c < 4; ++c) {
          const int ch = 4 * rb + c;
          const __m256 vw = _mm256_set1_ps(ws[ch]);
          const __m256 vb = kBias ? _mm256_set1_ps(bias[ch]) : vw;
          const __m256 lo = Dequant<kBias, kGelu>(acc[2 * c], sa_lo, vw, vb);
          const __m256 hi =
              Dequant<kBias, kGelu>(acc[2 * c + 1], sa_hi, vw, vb);
          _mm256_store_ps(h + 16 * ch, lo);
          _mm256_store_ps(h + 16 * ch + 8, hi);
          max_lo = _mm256_max_ps(max_lo, _mm256_and_ps(lo, abs_mask));
          max_hi = _mm256_max_ps(max_hi, _mm256_and_ps(hi, abs_mask));
        }
      });
  // Per token (QuantizeRowSymmetric's tail): max 0 -> codes 0, scale 1;
  // else inv = 127 / max, scale = max / 127. inv = 0 gives the 0 codes.
  const __m256 zero = _mm256_setzero_ps();
  const __m256 c127 = _mm256_set1_ps(127.0f);
  auto inv_of = [&](__m256 mx) {
    const __m256 is0 = _mm256_cmp_ps(mx, zero, _CMP_EQ_OQ);
    return _mm256_andnot_ps(is0, _mm256_div_ps(c127, mx));
  };
  auto scale_of = [&](__m256 mx) {
    const __m256 is0 = _mm256_cmp_ps(mx, zero, _CMP_EQ_OQ);
    return _mm256_blendv_ps(_mm256_div_ps(mx, c127), _mm256_set1_ps(1.0f), is0);
  };
  const __m256 inv_lo = inv_of(max_lo), inv_hi = inv_of(max_hi);
  alignas(32) float s_lo[8], s_hi[8];
  _mm256_store_ps(s_lo, scale_of(max_lo));
  _mm256_store_ps(s_hi, scale_of(max_hi));
  for (int i = 0; i < 8; ++i) {
    if (kLoToken[i] < mt) scale_out[kLoToken[i]] = s_lo[i];
    if (kHiToken[i] < mt) scale_out[kHiToken[i]] = s_hi[i];
  }
  // Codes straight into W2's scratch: per channel, packs of (lo, hi) give
  // tokens 0-7 | 8-15 as int16 per lane, then bytes 0-7 | 16-23 (repeated
  // in 8-15 | 24-31), the layout of sparse_4x1_avx2_core.h; + 128.
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int ch = 0; ch < n; ++ch) {
    const __m256i qlo =
        _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_load_ps(h + 16 * ch), inv_lo));
    const __m256i qhi = _mm256_cvtps_epi32(
        _mm256_mul_ps(_mm256_load_ps(h + 16 * ch + 8), inv_hi));
    const __m256i w16 = _mm256_packs_epi32(qlo, qhi);
    _mm256_store_si256(reinterpret_cast<__m256i*>(xt2 + 32 * ch),
                       _mm256_xor_si256(_mm256_packs_epi16(w16, w16), flip));
  }
}

}  // namespace

void SparseFfnFirstTileAvx2(const PackedSparseInt8& w1, const int8_t* x,
                            int64_t ldx, int mt, const Epilogue& ep1,
                            uint8_t* xt2, float* scale_out) {
  const bool bias = ep1.bias != nullptr;
  if (ep1.gelu) {
    bias ? FirstTile<true, true>(w1, x, ldx, mt, ep1, xt2, scale_out)
         : FirstTile<false, true>(w1, x, ldx, mt, ep1, xt2, scale_out);
  } else {
    bias ? FirstTile<true, false>(w1, x, ldx, mt, ep1, xt2, scale_out)
         : FirstTile<false, false>(w1, x, ldx, mt, ep1, xt2, scale_out);
  }
}

}  // namespace fastrel::internal
