// AVX2 4x1 block-sparse tile kernel (see sparse_gemm.h for the scheme).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/int8_transpose.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {
namespace {

// Activation scratch: 32 bytes per input channel k, bytes 0-7 = tokens 0-7
// and bytes 16-23 = tokens 8-15 of u8 code x[t][k] (s8 codes + 128, i.e.
// x ^ 0x80); bytes 8-15 / 24-31 repeat them (unused). One 32-byte load and
// in-lane unpacks then give both 8-token halves. Tokens t >= mt read 0 (s8:
// 0x80); their results are never copied out.
template <bool kU8>
void TransposeToScratch(const int8_t* x, int64_t ldx, int mt, int k,
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

}  // namespace

void Sparse4x1TileAvx2(const PackedSparseInt8& w, const void* xv, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);  // u8 codes reinterpreted
  const int k = w.k();
  struct alignas(32) Row32 {
    uint8_t v[32];
  };
  thread_local std::vector<Row32> xbuf;
  xbuf.resize(k);
  uint8_t* xt = xbuf[0].v;
  if (act == ActType::kU8) {
    TransposeToScratch<true>(x, ldx, mt, k, xt);
  } else {
    TransposeToScratch<false>(x, ldx, mt, k, xt);
  }
  // s8 codes were fed as x + 128: start each channel at -128 * sum_k Wq.
  const int32_t* col_sum = w.col_sums().data();
  const int32_t shift = act == ActType::kU8 ? 0 : 128;

  const internal::Ubs4x1Layout& lay = w.ubs4x1();
  const uint32_t* row_ptr = lay.row_ptr.data();
  const uint32_t* off = lay.off32.data();
  const int32_t* wp = reinterpret_cast<const int32_t*>(lay.val.data());
  const __m256i ones = _mm256_set1_epi16(1);
  // Results go to buf [16 tokens][kCols] and are copied out every kCols / 4
  // row blocks: 16-byte pieces straight into 16 rows 4 KB apart (N = 1024)
  // all land in one L1 set. Full tiles whose rows are not a multiple of 2 KB
  // apart (at most 4 rows per L1 set) are written straight to out.
  constexpr int kCols = 32;
  alignas(32) int32_t buf[16 * kCols];
  const bool direct = mt == 16 && (ldo * 4) % 2048 != 0;
  const int64_t ds = direct ? ldo : kCols;
  const int nrb = w.n() / 4;
  // The next tile's activations (tokens mt.. of the caller's matrix, which
  // SparseGemm tiles consecutively) are prefetched a few lines per row block
  // so its transposition does not wait for L2/L3. Prefetches past the end
  // of the matrix are harmless (no faults; the addresses are computed as
  // integers, never as pointers past the end).
  const int lines_per_row = (k + 63) / 64;
  const int next_lines = 16 * lines_per_row;
  const int pf_per_rb = (next_lines + nrb - 1) / nrb;
  const uintptr_t next = reinterpret_cast<uintptr_t>(x) + 16 * ldx;
  int pf = 0;

  for (int rb = 0; rb < nrb; ++rb) {
    for (int i = 0; i < pf_per_rb && pf < next_lines; ++i, ++pf) {
      _mm_prefetch(
          reinterpret_cast<const char*>(next + (pf / lines_per_row) * ldx +
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
    // 4 channels x 16 tokens -> 16 tokens x 4 channels.
    int32_t* d = direct ? out + 4 * rb : buf + 4 * (rb % (kCols / 4));
    auto emit = [&](__m256i c0, __m256i c1, __m256i c2, __m256i c3, int t0) {
      const __m256i u0 = _mm256_unpacklo_epi32(c0, c1);
      const __m256i u1 = _mm256_unpacklo_epi32(c2, c3);
      const __m256i u2 = _mm256_unpackhi_epi32(c0, c1);
      const __m256i u3 = _mm256_unpackhi_epi32(c2, c3);
      const __m256i v[4] = {
          _mm256_unpacklo_epi64(u0, u1), _mm256_unpackhi_epi64(u0, u1),
          _mm256_unpacklo_epi64(u2, u3), _mm256_unpackhi_epi64(u2, u3)};
      for (int i = 0; i < 4; ++i) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (t0 + i) * ds),
                         _mm256_castsi256_si128(v[i]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (t0 + 8 + i) * ds),
                         _mm256_extracti128_si256(v[i], 1));
      }
    };
    emit(lo0, lo1, lo2, lo3, 0);
    emit(hi0, hi1, hi2, hi3, 4);
    if (direct) continue;
    if (rb % (kCols / 4) == kCols / 4 - 1) {
      int32_t* o = out + 4 * (rb + 1) - kCols;
      for (int t = 0; t < mt; ++t) {
        const __m256i* src = reinterpret_cast<const __m256i*>(buf + t * kCols);
        __m256i* dst = reinterpret_cast<__m256i*>(o + t * ldo);
        for (int i = 0; i < kCols / 8; ++i) {
          _mm256_storeu_si256(dst + i, _mm256_load_si256(src + i));
        }
      }
    } else if (rb == nrb - 1) {
      const int rb0 = rb - rb % (kCols / 4);
      const size_t bytes = static_cast<size_t>(rb - rb0 + 1) * 16;
      for (int t = 0; t < mt; ++t) {
        std::memcpy(out + t * ldo + 4 * rb0, buf + t * kCols, bytes);
      }
    }
  }
}

}  // namespace fastrel::internal
