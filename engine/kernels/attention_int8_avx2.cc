// AVX2 versions of the attention_int8.h kernels (compiled with
// FASTREL_AVX2_FLAGS; reached through the dispatchers in attention_int8.cc).
// Both products run one micro-GEMM over s16 pairs (attention_int8_pack.h):
// vpmaddwd of a broadcast A pair and 8 B pairs, vpaddd into int32: exact.
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "engine/kernels/attention_int8.h"
#include "engine/kernels/attention_int8_pack.h"
#include "engine/kernels/simd_math_avx2.h"

namespace fastrel {
namespace {

constexpr int kRows = 6;  // rows of C per micro-tile

// C[r][0..8*NC) (masked to `cols` <= 8*NC) for R rows.
template <int R, int NC>
void PairTile(const uint32_t* a, int ld_a, const uint32_t* b, int ld_b, int kp,
              int32_t* c, int ld_c, int cols) {
  __m256i acc[R][NC];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) acc[r][t] = _mm256_setzero_si256();
  }
  for (int p = 0; p < kp; ++p) {
    const uint32_t* bp = b + static_cast<long>(p) * ld_b;
    __m256i bv[NC];
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) {
      bv[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 8 * t));
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i av = _mm256_set1_epi32(
          static_cast<int>(a[static_cast<long>(r) * ld_a + p]));
#pragma GCC unroll 2
      for (int t = 0; t < NC; ++t) {
        acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(av, bv[t]));
      }
    }
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    int32_t* cr = c + static_cast<long>(r) * ld_c;
#pragma GCC unroll 2
    for (int t = 0; t < NC; ++t) {
      const int left = cols - 8 * t;
      if (left >= 8) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr + 8 * t), acc[r][t]);
      } else if (left > 0) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
        _mm256_maskstore_epi32(cr + 8 * t, m, acc[r][t]);
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
// of 8 >= n.
void PairGemm(const uint32_t* a, int ld_a, int m, const uint32_t* b, int ld_b,
              int n, int kp, int32_t* c, int ld_c) {
  for (int i = 0; i < m; i += kRows) {
    const int r = std::min(kRows, m - i);
    const uint32_t* ai = a + static_cast<long>(i) * ld_a;
    int32_t* ci = c + static_cast<long>(i) * ld_c;
    int j = 0;
    for (; j + 8 < n; j += 16) {
      PairTileRows<2>(r, ai, ld_a, b + j, ld_b, kp, ci + j, ld_c, n - j);
    }
    if (j < n)
      PairTileRows<1>(r, ai, ld_a, b + j, ld_b, kp, ci + j, ld_c, n - j);
  }
}

thread_local PairScratch scratch;

}  // namespace

void Int8QKt_avx2(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                  int n_k, int dh, int32_t* s, int ld_s) {
  const int kp = (dh + 1) / 2;
  const int ld_b = (n_k + 15) / 16 * 16;
  uint32_t* a = scratch.A(static_cast<size_t>(n_q) * kp);
  uint32_t* b = scratch.B(static_cast<size_t>(kp) * ld_b);
  PackRowPairs(q, ld_q, n_q, dh, a, kp);
  PackKeyPairs(k, ld_k, n_k, dh, b, ld_b);
  PairGemm(a, kp, n_q, b, ld_b, n_k, kp, s, ld_s);
}

void Int8PV_avx2(const uint8_t* p, int ld_p, int n_rows, int n_k,
                 const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c) {
  const int kp = (n_k + 1) / 2;
  const int ld_b = (dh + 15) / 16 * 16;
  uint32_t* a = scratch.A(static_cast<size_t>(n_rows) * kp);
  uint32_t* b = scratch.B(static_cast<size_t>(kp) * ld_b);
  PackRowPairs(p, ld_p, n_rows, n_k, a, kp);
  PackValuePairs(v, ld_v, n_k, dh, b, ld_b);
  PairGemm(a, kp, n_rows, b, ld_b, dh, kp, c, ld_c);
}

namespace {

// Lanes [0, tail) of a partial vector.
inline __m256i TailMask(int tail) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(tail),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <bool kMul>
float QuantizeWeights(const float* p, const float* mul, int n, uint8_t* code) {
  auto load = [&](int j) {
    const __m256 x = _mm256_loadu_ps(p + j);
    return kMul ? _mm256_mul_ps(x, _mm256_loadu_ps(mul + j)) : x;
  };
  auto at = [&](int j) { return kMul ? p[j] * mul[j] : p[j]; };
  int j = 0;
  __m256 vm = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) vm = _mm256_max_ps(vm, load(j));
  alignas(32) float t[8];
  _mm256_store_ps(t, vm);
  float m = 0.0f;
  for (float x : t) m = std::max(m, x);
  for (; j < n; ++j) m = std::max(m, at(j));
  if (m == 0.0f) return QuantizeWeightsU8_ref(p, mul, n, code);
  const float inv = 255.0f / m;
  const __m256 vi = _mm256_set1_ps(inv);
  const __m256 hi = _mm256_set1_ps(255.0f);
  j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_min_ps(_mm256_mul_ps(load(j), vi), hi);
    const __m256i i32 = _mm256_cvtps_epi32(x);  // rne
    const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32),
                                        _mm256_extracti128_si256(i32, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(code + j),
                     _mm_packus_epi16(i16, i16));
  }
  for (; j < n; ++j) {
    code[j] = static_cast<uint8_t>(
        __builtin_nearbyintf(std::min(at(j) * inv, 255.0f)));
  }
  return m / 255.0f;
}

}  // namespace

float QuantizeWeightsU8_avx2(const float* p, const float* mul, int n,
                             uint8_t* code) {
  return mul != nullptr ? QuantizeWeights<true>(p, mul, n, code)
                        : QuantizeWeights<false>(p, mul, n, code);
}

namespace {

// 8 lanes at p: a plain load / store, or (kMasked, the row's last partial
// chunk) one masked to the lanes m.
template <bool kMasked>
inline __m256 Load8(const float* p, __m256i m) {
  return kMasked ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}
template <bool kMasked>
inline __m256 Load8(const int32_t* p, __m256i m) {
  return _mm256_cvtepi32_ps(
      kMasked ? _mm256_maskload_epi32(p, m)
              : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
template <bool kMasked>
inline void Store8(float* p, __m256i m, __m256 v) {
  if (kMasked) {
    _mm256_maskstore_ps(p, m, v);
  } else {
    _mm256_storeu_ps(p, v);
  }
}

// The three passes of ScoresToProbs over chunk c (8 lanes at 8c).
template <bool kMasked>
inline void DequantMax(const int32_t* a, const float* ks, __m256 va, int c,
                       __m256i m, float* p, __m256* vm) {
  const __m256 f =
      _mm256_mul_ps(_mm256_mul_ps(va, Load8<kMasked>(ks + 8 * c, m)),
                    Load8<kMasked>(a + 8 * c, m));
  Store8<kMasked>(p + 8 * c, m, f);
  *vm = _mm256_max_ps(
      *vm, kMasked ? _mm256_blendv_ps(*vm, f, _mm256_castsi256_ps(m)) : f);
}
template <bool kMasked>
inline void ExpSum(__m256 mx, int c, __m256i m, float* p, __m256 s[2]) {
  __m256 e = simd::Exp8(_mm256_sub_ps(Load8<kMasked>(p + 8 * c, m), mx));
  if (kMasked) e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
  Store8<kMasked>(p + 8 * c, m, e);
  s[c & 1] = _mm256_add_ps(s[c & 1], e);
}
template <bool kMasked>
inline void Normalize(__m256 inv, int c, __m256i m, float* p, float* colsum) {
  const __m256 pr = _mm256_mul_ps(Load8<kMasked>(p + 8 * c, m), inv);
  Store8<kMasked>(p + 8 * c, m, pr);
  if (colsum != nullptr) {
    Store8<kMasked>(colsum + 8 * c, m,
                    _mm256_add_ps(Load8<kMasked>(colsum + 8 * c, m), pr));
  }
}

}  // namespace

void ScoresToProbs_avx2(const int32_t* acc, int ld_acc, int rows, int n,
                        float scale, const float* q_scale, const float* k_scale,
                        float* probs, int ld_probs, float* colsum) {
  const int full = n / 8;  // whole chunks; then one masked if n % 8 != 0
  const bool part = n % 8 != 0;
  const __m256i m = TailMask(n % 8);
  for (int i = 0; i < rows; ++i) {
    const int32_t* ai = acc + static_cast<long>(i) * ld_acc;
    float* p = probs + static_cast<long>(i) * ld_probs;
    const __m256 va = _mm256_set1_ps(scale * q_scale[i]);
    __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (int c = 0; c < full; ++c)
      DequantMax<false>(ai, k_scale, va, c, m, p, &vm);
    if (part) DequantMax<true>(ai, k_scale, va, full, m, p, &vm);
    const __m256 mx = _mm256_set1_ps(simd::HMax(vm));
    // Partial sums of lanes j % 16 < 8 (s[0]) and >= 8 (s[1]): the 16 lanes
    // of the AVX-512 version.
    __m256 s[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int c = 0; c < full; ++c) ExpSum<false>(mx, c, m, p, s);
    if (part) ExpSum<true>(mx, full, m, p, s);
    const __m256 inv =
        _mm256_set1_ps(1.0f / simd::HSum(_mm256_add_ps(s[0], s[1])));
    for (int c = 0; c < full; ++c) Normalize<false>(inv, c, m, p, colsum);
    if (part) Normalize<true>(inv, full, m, p, colsum);
  }
}

void ScaleInt32Rows_avx2(const int32_t* acc, int ld_acc, int rows, int n,
                         const float* s, float* out, int ld_out) {
  const __m256i m = TailMask(n % 8);
  for (int r = 0; r < rows; ++r) {
    const int32_t* ar = acc + static_cast<long>(r) * ld_acc;
    float* o = out + static_cast<long>(r) * ld_out;
    const __m256 vs = _mm256_set1_ps(s[r]);
    int d = 0;
    for (; d + 8 <= n; d += 8) {
      const __m256 f = _mm256_cvtepi32_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ar + d)));
      _mm256_storeu_ps(o + d, _mm256_mul_ps(vs, f));
    }
    if (d < n) {
      const __m256 f = _mm256_cvtepi32_ps(_mm256_maskload_epi32(ar + d, m));
      _mm256_maskstore_ps(o + d, m, _mm256_mul_ps(vs, f));
    }
  }
}

}  // namespace fastrel
