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

#include <cstdint>
#include <cstring>
#include <vector>

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

// K^T pairs: b[kp][j] = (k[j][2kp], k[j][2kp+1]) for j < n, kp <
// (dh + 1) / 2; columns [n, ld_b) are zero.
inline void PackKeyPairs(const int8_t* k, int ld_k, int n, int dh, uint32_t* b,
                         int ld_b) {
  const int kp = (dh + 1) / 2;
  for (int p = 0; p < kp; ++p) {
    std::memset(b + static_cast<long>(p) * ld_b + n, 0,
                sizeof(uint32_t) * (ld_b - n));
  }
  for (int j = 0; j < n; ++j) {
    const int8_t* kj = k + static_cast<long>(j) * ld_k;
    for (int p = 0; p < dh / 2; ++p) {
      b[static_cast<long>(p) * ld_b + j] = Pair(kj[2 * p], kj[2 * p + 1]);
    }
    if (dh % 2 != 0)
      b[static_cast<long>(kp - 1) * ld_b + j] = Pair(kj[dh - 1], 0);
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
