// AVX2 twins of the row quantizers in quantize.cc: the same float operations
// in the same order, so the codes are bit-identical to the reference.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/quantize.h"

namespace fastrel::internal {
namespace {

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

float HMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

float HMin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Packs 8 int32 to 8 bytes (saturating).
inline void Store8S8(__m256i v, int8_t* q) {
  const __m128i lo = _mm256_castsi256_si128(v);
  const __m128i hi = _mm256_extracti128_si256(v, 1);
  const __m128i w = _mm_packs_epi32(lo, hi);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packs_epi16(w, w));
}

inline void Store8U8(__m256i v, uint8_t* q) {
  const __m128i lo = _mm256_castsi256_si128(v);
  const __m128i hi = _mm256_extracti128_si256(v, 1);
  const __m128i w = _mm_packs_epi32(lo, hi);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packus_epi16(w, w));
}

// q = rne(x * inv), clamped to [-127, 127] when kClamp. Without the clamp the
// caller guarantees |x * inv| <= 127.5 (dynamic symmetric: inv = 127 / max|x|
// gives <= 127 * (1 + 2^-22)), so the codes equal the clamped ones. The
// conversion rounds with MXCSR (default round-to-nearest-even, as
// std::nearbyint in the reference). 32 values per step: four conversions,
// two saturating pack levels and one lane permute, one 32-byte store.
template <bool kClamp>
void ScaleRowAvx2(const float* x, int k, float inv, int8_t* q) {
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  auto code = [&](const float* p) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p), vinv);
    if (kClamp) v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    return _mm256_cvtps_epi32(v);
  };
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    // Per 128-bit lane the packs interleave the four inputs' halves; the
    // dword permute restores the element order.
    const __m256i ab = _mm256_packs_epi32(code(x + i), code(x + i + 8));
    const __m256i cd = _mm256_packs_epi32(code(x + i + 16), code(x + i + 24));
    const __m256i b = _mm256_packs_epi16(ab, cd);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i),
                        _mm256_permutevar8x32_epi32(b, order));
  }
  for (; i + 8 <= k; i += 8) Store8S8(code(x + i), q + i);
  for (; i < k; ++i) {
    const float v = std::min(std::max(x[i] * inv, -127.0f), 127.0f);
    q[i] = static_cast<int8_t>(std::nearbyint(v));
  }
}

}  // namespace

float QuantizeRowSymmetricAvx2(const float* x, int k, int8_t* q) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  // Four independent max chains (one chain of k / 8 dependent maxes was
  // latency-bound); max is exact in any order, so the result is unchanged.
  auto abs_at = [&](int at) {
    return _mm256_and_ps(_mm256_loadu_ps(x + at), abs_mask);
  };
  __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    m0 = _mm256_max_ps(m0, abs_at(i));
    m1 = _mm256_max_ps(m1, abs_at(i + 8));
    m2 = _mm256_max_ps(m2, abs_at(i + 16));
    m3 = _mm256_max_ps(m3, abs_at(i + 24));
  }
  for (; i + 8 <= k; i += 8) m0 = _mm256_max_ps(m0, abs_at(i));
  float amax =
      HMax(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  for (; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  if (amax == 0.0f) {
    std::fill(q, q + k, int8_t{0});
    return 1.0f;
  }
  ScaleRowAvx2<false>(x, k, 127.0f / amax, q);
  return amax / 127.0f;
}

void QuantizeRowStaticAvx2(const float* x, int k, float inv_scale, int8_t* q) {
  ScaleRowAvx2<true>(x, k, inv_scale, q);
}

void QuantizeRowWithMaxAvx2(const float* x, int k, float inv, int8_t* q) {
  ScaleRowAvx2<false>(x, k, inv, q);
}

float QuantizeRowAsymmetricAvx2(const float* x, int k, uint8_t* q,
                                int32_t* zp) {
  __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= k; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
  }
  float lo = HMin(vlo), hi = HMax(vhi);
  for (; i < k; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi == lo) {
    std::fill(q, q + k, uint8_t{0});
    *zp = 0;
    return 1.0f;
  }
  const float inv = 255.0f / (hi - lo);
  const float z = std::min(std::max(std::nearbyint(-lo * inv), 0.0f), 255.0f);
  const __m256 vinv = _mm256_set1_ps(inv), vz = _mm256_set1_ps(z);
  const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
  for (i = 0; i + 8 <= k; i += 8) {
    __m256 v =
        _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), kRound);
    v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, vz), zero), top);
    Store8U8(_mm256_cvtps_epi32(v), q + i);
  }
  for (; i < k; ++i) {
    const float v =
        std::min(std::max(std::nearbyint(x[i] * inv) + z, 0.0f), 255.0f);
    q[i] = static_cast<uint8_t>(v);
  }
  *zp = static_cast<int32_t>(z);
  return (hi - lo) / 255.0f;
}

}  // namespace fastrel::internal
