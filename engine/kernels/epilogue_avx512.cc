// AVX-512 twin of ApplyEpilogueRowAvx2 (epilogue_avx2.cc): the same IEEE
// operations per element in the same order (dequantize, bias, the rational
// erf GELU of simd_math_avx512.h, Gelu8's twin, residual), 16 lanes at a time,
// so its rows are bit-identical to the AVX2 rows (and, except GELU, to the
// reference). The row tail (n % 16) runs masked: masked-off lanes compute
// GELU(0) = 0, which leaves the row max |y| unchanged.
//
// Why a 512-bit copy when Zen 4 double-pumps 512-bit ops (same FLOPs per
// cycle as AVX2): the GELU row is bound by issue and scheduler capacity for
// its long dependency chains, and 16-lane ops halve the instructions per
// element. Measured on the Zen 4 dev box (1024-column GELU rows, hot in
// L2): 0.52 vs 0.65 ns per element (bench/results/epi-2026-11-21.md).
// GCC 12 reports false -W(maybe-)uninitialized warnings inside
// avx512fintrin.h for intrinsics built on _mm512_undefined_* (min, max,
// cvtepi32_ps); the values are fully written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <array>
#include <utility>

#include "engine/kernels/epilogue.h"
#include "engine/kernels/simd_math_avx512.h"

namespace fastrel::internal {
namespace {

using simd::Gelu16;

// Columns [j, j + 16) under `mask` (masked-off lanes read 0 and are not
// stored); returns |y| (0 in masked-off lanes: zero inputs give y = 0).
template <bool kZp, bool kBias, bool kGelu, bool kRes>
inline __m512 Step16(const Epilogue& ep, const int32_t* acc, const float* res,
                     __m512 vsa, __m512i vzp, int j, __mmask16 mask,
                     float* out) {
  __m512i c = _mm512_maskz_loadu_epi32(mask, acc + j);
  if constexpr (kZp) {
    const __m512i cs = _mm512_maskz_loadu_epi32(mask, ep.weight_col_sum + j);
    c = _mm512_sub_epi32(c, _mm512_mullo_epi32(vzp, cs));
  }
  const __m512 s =
      _mm512_mul_ps(vsa, _mm512_maskz_loadu_ps(mask, ep.weight_scale + j));
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(c), s);
  if constexpr (kBias) {
    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, ep.bias + j));
  }
  if constexpr (kGelu) y = Gelu16(y);
  if constexpr (kRes)
    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, res + j));
  _mm512_mask_storeu_ps(out + j, mask, y);
  return _mm512_abs_ps(y);  // masked-off lanes hold y = 0
}

template <bool kZp, bool kBias, bool kGelu, bool kRes, bool kAmax>
float Row(const Epilogue& ep_in, const int32_t* acc, int m, int n, float* out) {
  // A local copy: the stores to `out` could alias the caller's Epilogue, so
  // with a reference the compiler reloads its pointers every step.
  const Epilogue ep = ep_in;
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = kZp ? ep.act_zero_point[m] : 0;
  const float* res = kRes ? ep.residual + m * ep.ld_residual : nullptr;
  const __m512 vsa = _mm512_set1_ps(sa);
  const __m512i vzp = _mm512_set1_epi32(zp);
  constexpr __mmask16 kAll = 0xffff;
  __m512 vmax0 = _mm512_setzero_ps(), vmax1 = _mm512_setzero_ps();
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m512 a0 =
        Step16<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp, j, kAll, out);
    const __m512 a1 = Step16<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp,
                                                      j + 16, kAll, out);
    if constexpr (kAmax) {
      vmax0 = _mm512_max_ps(vmax0, a0);
      vmax1 = _mm512_max_ps(vmax1, a1);
    }
  }
  for (; j < n; j += 16) {
    const __mmask16 mask =
        n - j >= 16 ? kAll : static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 a0 =
        Step16<kZp, kBias, kGelu, kRes>(ep, acc, res, vsa, vzp, j, mask, out);
    if constexpr (kAmax) vmax0 = _mm512_max_ps(vmax0, a0);
  }
  if constexpr (kAmax) {
    return _mm512_reduce_max_ps(_mm512_max_ps(vmax0, vmax1));
  }
  return 0.0f;
}

using RowFn = float (*)(const Epilogue&, const int32_t*, int, int, float*);

template <int kFlags>
float RowOf(const Epilogue& ep, const int32_t* acc, int m, int n, float* out) {
  return Row<(kFlags & 1) != 0, (kFlags & 2) != 0, (kFlags & 4) != 0,
             (kFlags & 8) != 0, (kFlags & 16) != 0>(ep, acc, m, n, out);
}

template <int... I>
constexpr std::array<RowFn, sizeof...(I)> MakeRows(
    std::integer_sequence<int, I...>) {
  return {&RowOf<I>...};
}

// Indexed by zp | bias << 1 | gelu << 2 | residual << 3 | amax << 4.
constexpr std::array<RowFn, 32> kRows =
    MakeRows(std::make_integer_sequence<int, 32>{});

}  // namespace

float ApplyEpilogueRowAvx512(const Epilogue& ep, const int32_t* acc, int m,
                             int n, float* out, bool want_amax) {
  const int flags = (ep.act_zero_point != nullptr ? 1 : 0) |
                    (ep.bias != nullptr ? 2 : 0) | (ep.gelu ? 4 : 0) |
                    (ep.residual != nullptr ? 8 : 0) | (want_amax ? 16 : 0);
  return kRows[flags](ep, acc, m, n, out);
}

}  // namespace fastrel::internal
