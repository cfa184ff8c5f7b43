// Internal to the AVX2 4x1 sparse kernels (sparse_4x1_avx2.cc and the fused
// feed-forward tile, sparse_ffn_avx2.cc): the activation scratch layout, the
// transposition into it and the row-block loop, shared so both kernels run
// the same instruction sequence. Header-only; include it only from
// translation units compiled with the AVX2 flags (see sparse_gemm.h for the
// scheme and its exactness argument).
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_4X1_AVX2_CORE_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_4X1_AVX2_CORE_H_

#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/int8_transpose.h"
#include "engine/kernels/sparse_format.h"

namespace fastrel::internal::avx2_4x1 {

// Activation scratch: 32 bytes per input channel k, bytes 0-7 = tokens 0-7
// and bytes 16-23 = tokens 8-15 of u8 code x[t][k] (s8 codes + 128, i.e.
// x ^ 0x80); bytes 8-15 / 24-31 repeat them (unused). One 32-byte load and
// in-lane unpacks then give both 8-token halves. 32-byte aligned.
struct alignas(32) Row32 {
  uint8_t v[32];
};

// Tokens t >= mt read 0 (s8: 0x80); their results are never copied out.
template <bool kU8>
inline void TransposeToScratch(const int8_t* x, int64_t ldx, int mt, int k,
                               uint8_t* xt) {
  thread_local std::vector<int8_t> zeros;
  if (zeros.size() < static_cast<size_t>(k)) zeros.assign(k, 0);
  const int8_t* rows[16];
  for (int t = 0; t < 16; ++t) rows[t] = t < mt ? x + t * ldx : zeros.data();
  const __m128i flip = _mm_set1_epi8(kU8 ? 0 : static_cast<char>(0x80));
  int kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    __m128i r[16];
    for (int t = 0; t < 16; ++t) {
      r[t] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + kk));
    }
    Transpose16x16Bytes(r);
    for (int i = 0; i < 16; ++i) {
      const __m256i v = _mm256_castsi128_si256(_mm_xor_si128(r[i], flip));
      _mm256_store_si256(reinterpret_cast<__m256i*>(xt + (kk + i) * 32),
                         _mm256_permute4x64_epi64(v, 0x50));  // q0 q0 q1 q1
    }
  }
  for (; kk < k; ++kk) {
    for (int t = 0; t < 16; ++t) {
      const uint8_t v = static_cast<uint8_t>(rows[t][kk]) ^ (kU8 ? 0 : 0x80);
      xt[kk * 32 + (t / 8) * 16 + t % 8] = v;
      xt[kk * 32 + (t / 8) * 16 + 8 + t % 8] = v;
    }
  }
}

// acc += v in place. An asm, not _mm256_add_epi32: it keeps GCC from
// reassociating the adds across updates (more live registers than the 16
// ymm, spills) without the extra register copies an optimization barrier
// costs.
inline __attribute__((always_inline)) void AddTo(__m256i& acc, __m256i v) {
  asm("vpaddd %1, %0, %0" : "+x"(acc) : "x"(v));
}

// Prefetch of the next tile's activation rows, spread over the row blocks so
// its transposition does not wait for L2/L3. `next` = 0: none. Prefetches
// past the end of the matrix are harmless (no faults; the addresses are
// computed as integers, never as pointers past the end).
struct NextTilePrefetch {
  uintptr_t next = 0;  // first byte of the next tile's first row
  int64_t ldx = 0;
  int k = 0;
};

// For each row block rb of 4 output channels: the exact int32 sums of the
// 16 scratch tokens, channel-major, then emit(rb, acc) with
//   acc[2c]     = channel 4rb+c, tokens 0-3 | 8-11 (low | high lane),
//   acc[2c + 1] = channel 4rb+c, tokens 4-7 | 12-15,
// each sum starting at -shift * col_sum (shift 128 for s8 codes fed as
// x + 128, 0 for u8).
template <class Emit>
inline __attribute__((always_inline)) void RowBlocks(
    const PackedSparseInt8& w, const uint8_t* xt, int32_t shift,
    const NextTilePrefetch& pf_next, Emit&& emit) {
  const int32_t* col_sum = w.col_sums().data();
  const Ubs4x1Layout& lay = w.ubs4x1();
  const uint32_t* row_ptr = lay.row_ptr.data();
  const uint32_t* off = lay.off32.data();
  const int32_t* wp = reinterpret_cast<const int32_t*>(lay.val.data());
  const __m256i ones = _mm256_set1_epi16(1);
  const int nrb = w.n() / 4;
  const int lines_per_row = (pf_next.k + 63) / 64;
  const int next_lines = pf_next.next != 0 ? 16 * lines_per_row : 0;
  const int pf_per_rb = (next_lines + nrb - 1) / nrb;
  int pf = 0;
  for (int rb = 0; rb < nrb; ++rb) {
    for (int i = 0; i < pf_per_rb && pf < next_lines; ++i, ++pf) {
      _mm_prefetch(reinterpret_cast<const char*>(
                       pf_next.next + (pf / lines_per_row) * pf_next.ldx +
                       64 * (pf % lines_per_row)),
                   _MM_HINT_T0);
    }
    const int32_t* cs = col_sum + 4 * rb;
    __m256i lo0 = _mm256_set1_epi32(-shift * cs[0]), hi0 = lo0;
    __m256i lo1 = _mm256_set1_epi32(-shift * cs[1]), hi1 = lo1;
    __m256i lo2 = _mm256_set1_epi32(-shift * cs[2]), hi2 = lo2;
    __m256i lo3 = _mm256_set1_epi32(-shift * cs[3]), hi3 = lo3;
    const uint32_t* oq = off + row_ptr[rb];
    const uint32_t* oend = off + row_ptr[rb + 1];
    const int32_t* wq = wp + row_ptr[rb];
    for (; oq != oend; oq += 4, wq += 4) {
      // Token t's 4 bytes = its activations of the quad's 4 blocks.
      const __m256i a0 =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(xt + oq[0]));
      const __m256i a1 =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(xt + oq[1]));
      const __m256i a2 =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(xt + oq[2]));
      const __m256i a3 =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(xt + oq[3]));
      const __m256i u01 = _mm256_unpacklo_epi8(a0, a1);
      const __m256i u23 = _mm256_unpacklo_epi8(a2, a3);
      const __m256i l = _mm256_unpacklo_epi16(u01, u23);  // t0-3 | t8-11
      const __m256i h = _mm256_unpackhi_epi16(u01, u23);  // t4-7 | t12-15
      // Safe pairs (sparse_4x1_pairs.h): the s16 pair sums are exact.
      auto update = [&](__m256i& acc_lo, __m256i& acc_hi, int32_t wj) {
        const __m256i b = _mm256_set1_epi32(wj);
        AddTo(acc_lo, _mm256_madd_epi16(_mm256_maddubs_epi16(l, b), ones));
        AddTo(acc_hi, _mm256_madd_epi16(_mm256_maddubs_epi16(h, b), ones));
      };
      update(lo0, hi0, wq[0]);
      update(lo1, hi1, wq[1]);
      update(lo2, hi2, wq[2]);
      update(lo3, hi3, wq[3]);
    }
    const __m256i acc[8] = {lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3};
    emit(rb, acc);
  }
}

}  // namespace fastrel::internal::avx2_4x1

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_4X1_AVX2_CORE_H_
