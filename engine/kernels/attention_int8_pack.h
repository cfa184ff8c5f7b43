// Internal to the SIMD files of attention_int8.h: operand packing into s16
// pairs for the vpmaddwd / vpdpwssd micro-GEMM
//
//   C[r][col] = sum_kp A[r][kp] . B[kp][col]
//
// where each int32 element of A and B holds two s16 values (lo = even index
// of the reduction, hi = odd) and "." is the pairwise product sum. Everything
// is in an anonymous namespace: each SIMD file compiles its own copy with its
// own ISA flags (no ODR sharing between ISAs).
#ifndef FASTREL_ENGINE_KERNELS_ATTENTION_INT8_PACK_H_
#define FASTREL_ENGINE_KERNELS_ATTENTION_INT8_PACK_H_

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/simd_math_avx2.h"

namespace fastrel {
namespace {

inline uint32_t Pair(int32_t lo, int32_t hi) {
  return static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
         (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
}

// a[r][kp] = (x[r][2kp], x[r][2kp+1]) for r < rows, kp < (k + 1) / 2; the
// odd tail is paired with 0. Rows of a are ld_a (>= (k+1)/2) int32 apart.
template <class T>
void PackRowPairs(const T* x, int ld_x, int rows, int k, uint32_t* a,
                  int ld_a) {
  const int kp = (k + 1) / 2;
  for (int r = 0; r < rows; ++r) {
    const T* xr = x + static_cast<long>(r) * ld_x;
    uint32_t* ar = a + static_cast<long>(r) * ld_a;
    for (int p = 0; p < k / 2; ++p) ar[p] = Pair(xr[2 * p], xr[2 * p + 1]);
    if (k % 2 != 0) ar[kp - 1] = Pair(xr[k - 1], 0);
  }
}

// 8x8 int32 transpose: out row t = column t of the 8 input rows.
inline void Transpose8x8(const __m256i in[8], __m256i out[8]) {
  __m256 r[8], o[8];
  for (int t = 0; t < 8; ++t) r[t] = _mm256_castsi256_ps(in[t]);
  simd::Transpose8x8(r, o);
  for (int t = 0; t < 8; ++t) out[t] = _mm256_castps_si256(o[t]);
}

// K^T pairs: b[kp][j] = (k[j][2kp], k[j][2kp+1]) for j < n, kp <
// (dh + 1) / 2; columns [n, ld_b) are zero. Blocks of 8 keys x 16 dims go
// through a sign extension and an 8x8 int32 transpose (AVX2; every file
// including this header is compiled with at least AVX2).
inline void PackKeyPairs(const int8_t* k, int ld_k, int n, int dh, uint32_t* b,
                         int ld_b) {
  const int kp = (dh + 1) / 2;
  for (int p = 0; p < kp; ++p) {
    std::memset(b + static_cast<long>(p) * ld_b + n, 0,
                sizeof(uint32_t) * (ld_b - n));
  }
  const int d16 = dh / 16 * 16;
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int d = 0; d < d16; d += 16) {
      __m256i r[8], o[8];
      for (int t = 0; t < 8; ++t) {
        r[t] = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(
                k + static_cast<long>(j + t) * ld_k + d)));
      }
      Transpose8x8(r, o);
      for (int t = 0; t < 8; ++t) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(
                                b + static_cast<long>(d / 2 + t) * ld_b + j),
                            o[t]);
      }
    }
  }
  // The rest: dims [d16, dh) of the vectorized keys, and the last n % 8
  // keys entirely.
  for (int jj = 0; jj < n; ++jj) {
    const int8_t* kj = k + static_cast<long>(jj) * ld_k;
    const int d0 = jj < j ? d16 : 0;
    for (int p = d0 / 2; p < dh / 2; ++p) {
      b[static_cast<long>(p) * ld_b + jj] = Pair(kj[2 * p], kj[2 * p + 1]);
    }
    if (dh % 2 != 0) {
      b[static_cast<long>(kp - 1) * ld_b + jj] = Pair(kj[dh - 1], 0);
    }
  }
}

// V pairs: b[jp][c] = (v[2jp][c], v[2jp+1][c]) for c < dh, jp < (n + 1) / 2
// (the odd last row is paired with 0); columns [dh, ld_b) are zero.
inline void PackValuePairs(const int8_t* v, int ld_v, int n, int dh,
                           uint32_t* b, int ld_b) {
  const int np = (n + 1) / 2;
  for (int p = 0; p < np; ++p) {
    const int8_t* v0 = v + static_cast<long>(2 * p) * ld_v;
    const bool has1 = 2 * p + 1 < n;
    const int8_t* v1 = has1 ? v0 + ld_v : v0;
    uint32_t* bp = b + static_cast<long>(p) * ld_b;
    if (has1) {
      for (int c = 0; c < dh; ++c) bp[c] = Pair(v0[c], v1[c]);
    } else {
      for (int c = 0; c < dh; ++c) bp[c] = Pair(v0[c], 0);
    }
    std::memset(bp + dh, 0, sizeof(uint32_t) * (ld_b - dh));
  }
}

// Grow-only per-thread scratch of the packed operands.
struct PairScratch {
  std::vector<uint32_t> a, b;
  uint32_t* A(size_t n) {
    if (a.size() < n) a.resize(n);
    return a.data();
  }
  uint32_t* B(size_t n) {
    if (b.size() < n) b.resize(n);
    return b.data();
  }
};

}  // namespace
}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_ATTENTION_INT8_PACK_H_
