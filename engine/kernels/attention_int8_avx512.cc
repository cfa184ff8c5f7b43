// AVX-512 versions of the float helpers of attention_int8.h (compiled with
// FASTREL_AVX512_FLAGS and -ffp-contract=off; reached through the
// dispatchers in attention_int8.cc where IsaAvailable(kAvx512Vnni)). 16 lanes
// per step, masked tails; every result is bit-identical to the AVX2 version
// (and, except ScoresToProbs, to the reference).
//
// GCC 12 reports false -W(maybe-)uninitialized warnings inside
// avx512fintrin.h for the masked intrinsics and reductions (their
// _mm512_undefined_* pass-through operands); silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "engine/kernels/attention_int8.h"
#include "engine/kernels/simd_math_avx512.h"

namespace fastrel {
namespace {

inline __mmask16 Tail16(int n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}

// The AVX2 version's sum order: 16 lanes folded to 8 (lo + hi), then the
// 8-lane reduction of simd::HSum (lo 4 + hi 4, two horizontal adds).
inline float SumAsAvx2(__m512 v) {
  const __m256 t =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 lo =
      _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  lo = _mm_hadd_ps(lo, lo);
  lo = _mm_hadd_ps(lo, lo);
  return _mm_cvtss_f32(lo);
}

}  // namespace

void ScoresToProbs_avx512(const int32_t* acc, int ld_acc, int rows, int n,
                          float scale, const float* q_scale,
                          const float* k_scale, float* probs, int ld_probs,
                          float* colsum) {
  const int chunks = (n + 15) / 16;
  const __mmask16 last = n % 16 != 0 ? Tail16(n % 16) : 0xFFFF;
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int i = 0; i < rows; ++i) {
    const int32_t* ai = acc + static_cast<long>(i) * ld_acc;
    float* p = probs + static_cast<long>(i) * ld_probs;
    const __m512 va = _mm512_set1_ps(scale * q_scale[i]);
    __m512 vm = ninf;
    for (int c = 0; c < chunks; ++c) {
      const __mmask16 m = c + 1 < chunks ? 0xFFFF : last;
      const __m512 f = _mm512_mul_ps(
          _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, k_scale + 16 * c)),
          _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, ai + 16 * c)));
      _mm512_mask_storeu_ps(p + 16 * c, m, f);
      vm = _mm512_mask_max_ps(vm, m, vm, f);
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
    __m512 s = _mm512_setzero_ps();
    for (int c = 0; c < chunks; ++c) {
      const __mmask16 m = c + 1 < chunks ? 0xFFFF : last;
      const __m512 e = _mm512_maskz_mov_ps(
          m,
          simd::Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + 16 * c), mx)));
      _mm512_mask_storeu_ps(p + 16 * c, m, e);
      s = _mm512_add_ps(s, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / SumAsAvx2(s));
    for (int c = 0; c < chunks; ++c) {
      const __mmask16 m = c + 1 < chunks ? 0xFFFF : last;
      const __m512 pr =
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + 16 * c), inv);
      _mm512_mask_storeu_ps(p + 16 * c, m, pr);
      if (colsum != nullptr) {
        _mm512_mask_storeu_ps(
            colsum + 16 * c, m,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, colsum + 16 * c), pr));
      }
    }
  }
}

float QuantizeWeightsU8_avx512(const float* p, const float* mul, int n,
                               uint8_t* code) {
  const int chunks = (n + 15) / 16;
  const __mmask16 last = n % 16 != 0 ? Tail16(n % 16) : 0xFFFF;
  auto load = [&](int c, __mmask16 m) {
    const __m512 x = _mm512_maskz_loadu_ps(m, p + 16 * c);
    return mul != nullptr
               ? _mm512_mul_ps(x, _mm512_maskz_loadu_ps(m, mul + 16 * c))
               : x;
  };
  __m512 vm = _mm512_setzero_ps();  // weights are >= 0; masked lanes read 0
  for (int c = 0; c < chunks; ++c) {
    vm = _mm512_max_ps(vm, load(c, c + 1 < chunks ? 0xFFFF : last));
  }
  const float m = _mm512_reduce_max_ps(vm);
  if (m == 0.0f) return QuantizeWeightsU8_ref(p, mul, n, code);
  const __m512 vi = _mm512_set1_ps(255.0f / m);
  const __m512 hi = _mm512_set1_ps(255.0f);
  for (int c = 0; c < chunks; ++c) {
    const __mmask16 k = c + 1 < chunks ? 0xFFFF : last;
    const __m512 x = _mm512_min_ps(_mm512_mul_ps(load(c, k), vi), hi);
    // cvtps rounds to nearest even (MXCSR default), as the reference.
    _mm512_mask_cvtusepi32_storeu_epi8(code + 16 * c, k, _mm512_cvtps_epu32(x));
  }
  return m / 255.0f;
}

void ScaleInt32Rows_avx512(const int32_t* acc, int ld_acc, int rows, int n,
                           const float* s, float* out, int ld_out) {
  const int chunks = (n + 15) / 16;
  const __mmask16 last = n % 16 != 0 ? Tail16(n % 16) : 0xFFFF;
  for (int r = 0; r < rows; ++r) {
    const int32_t* ar = acc + static_cast<long>(r) * ld_acc;
    float* o = out + static_cast<long>(r) * ld_out;
    const __m512 vs = _mm512_set1_ps(s[r]);
    for (int c = 0; c < chunks; ++c) {
      const __mmask16 m = c + 1 < chunks ? 0xFFFF : last;
      const __m512 f =
          _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, ar + 16 * c));
      _mm512_mask_storeu_ps(o + 16 * c, m, _mm512_mul_ps(vs, f));
    }
  }
}

}  // namespace fastrel
