// AVX2 4x1 block-sparse tile kernel (see sparse_gemm.h for the scheme).
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "engine/kernels/int8_transpose.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {
namespace {

// xt[k][16] int16 = x[t][k] (s8 sign-extended or u8 zero-extended) for
// t < mt, 0 for the other tokens.
template <bool kU8>
void TransposeToInt16(const int8_t* x, int64_t ldx, int mt, int k,
                      int16_t* xt) {
  thread_local std::vector<int8_t> zeros;
  if (zeros.size() < static_cast<size_t>(k)) zeros.assign(k, 0);
  const int8_t* rows[16];
  for (int t = 0; t < 16; ++t) rows[t] = t < mt ? x + t * ldx : zeros.data();
  int kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    __m128i r[16];
    for (int t = 0; t < 16; ++t) {
      r[t] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + kk));
    }
    Transpose16x16Bytes(r);
    for (int i = 0; i < 16; ++i) {
      _mm256_store_si256(
          reinterpret_cast<__m256i*>(xt + (kk + i) * 16),
          kU8 ? _mm256_cvtepu8_epi16(r[i]) : _mm256_cvtepi8_epi16(r[i]));
    }
  }
  for (; kk < k; ++kk) {
    for (int t = 0; t < 16; ++t) {
      xt[kk * 16 + t] = kU8 ? static_cast<uint8_t>(rows[t][kk]) : rows[t][kk];
    }
  }
}

// acc += v in place. An asm, not _mm256_add_epi32: it keeps GCC from
// reassociating the adds across pair updates (summing two pairs' products
// first needs more than the 16 ymm registers and spills) without the extra
// register copies an optimization barrier costs.
inline __attribute__((always_inline)) void AddTo(__m256i& acc, __m256i v) {
  asm("vpaddd %1, %0, %0" : "+x"(acc) : "x"(v));
}

// acc (8 x int32 per register, tokens t0-3|t8-11 in lo*, t4-7|t12-15 in
// hi*) += the rank-2 update of blocks (xa, xb) with weights w[j] = the int16
// pair (Wq[j][ka], Wq[j][kb]) for channels j = 0..3.
inline __attribute__((always_inline)) void PairUpdate(
    const uint8_t* xa_p, const uint8_t* xb_p, const int32_t* w, __m256i& lo0,
    __m256i& lo1, __m256i& lo2, __m256i& lo3, __m256i& hi0, __m256i& hi1,
    __m256i& hi2, __m256i& hi3) {
  const __m256i xa = _mm256_load_si256(reinterpret_cast<const __m256i*>(xa_p));
  const __m256i xb = _mm256_load_si256(reinterpret_cast<const __m256i*>(xb_p));
  const __m256i l = _mm256_unpacklo_epi16(xa, xb);  // t0-3 | t8-11
  const __m256i h = _mm256_unpackhi_epi16(xa, xb);  // t4-7 | t12-15
  __m256i b = _mm256_set1_epi32(w[0]);
  AddTo(lo0, _mm256_madd_epi16(l, b));
  AddTo(hi0, _mm256_madd_epi16(h, b));
  b = _mm256_set1_epi32(w[1]);
  AddTo(lo1, _mm256_madd_epi16(l, b));
  AddTo(hi1, _mm256_madd_epi16(h, b));
  b = _mm256_set1_epi32(w[2]);
  AddTo(lo2, _mm256_madd_epi16(l, b));
  AddTo(hi2, _mm256_madd_epi16(h, b));
  b = _mm256_set1_epi32(w[3]);
  AddTo(lo3, _mm256_madd_epi16(l, b));
  AddTo(hi3, _mm256_madd_epi16(h, b));
}

}  // namespace

void Sparse4x1TileAvx2(const PackedSparseInt8& w, const void* xv, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);  // u8 codes reinterpreted
  const int k = w.k();
  struct alignas(32) Row16 {
    int16_t v[16];
  };
  thread_local std::vector<Row16> xbuf;
  xbuf.resize(k);
  int16_t* xt = xbuf[0].v;
  if (act == ActType::kU8) {
    TransposeToInt16<true>(x, ldx, mt, k, xt);
  } else {
    TransposeToInt16<false>(x, ldx, mt, k, xt);
  }

  const uint8_t* xt8 = reinterpret_cast<const uint8_t*>(xt);
  const uint32_t* row_ptr = w.row_ptr().data();
  const uint32_t* off = w.col_off32().data();  // col * 32 = row offset
  const int32_t* wp = reinterpret_cast<const int32_t*>(w.pair16().data());
  // Results go to buf [16 tokens][kCols] and are copied out every kCols / 4
  // row blocks: 16-byte pieces straight into 16 rows 4 KB apart (N = 1024)
  // all land in one L1 set.
  constexpr int kCols = 32;
  alignas(32) int32_t buf[16 * kCols];
  const int nrb = w.n() / 4;

  for (int rb = 0; rb < nrb; ++rb) {
    __m256i lo0 = _mm256_setzero_si256(), lo1 = lo0, lo2 = lo0, lo3 = lo0;
    __m256i hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
    const uint32_t qend = row_ptr[rb + 1] / 4;
    for (uint32_t q = row_ptr[rb] / 4; q < qend; ++q) {
      const uint32_t* oq = off + 4 * q;
      const int32_t* wq = wp + 8 * q;
      _mm_prefetch(reinterpret_cast<const char*>(wq + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(oq + 64), _MM_HINT_T0);
      PairUpdate(xt8 + oq[0], xt8 + oq[1], wq, lo0, lo1, lo2, lo3, hi0, hi1,
                 hi2, hi3);
      PairUpdate(xt8 + oq[2], xt8 + oq[3], wq + 4, lo0, lo1, lo2, lo3, hi0, hi1,
                 hi2, hi3);
    }
    // 4 channels x 16 tokens -> 16 tokens x 4 channels.
    int32_t* d = buf + 4 * (rb % (kCols / 4));
    auto emit = [&](__m256i c0, __m256i c1, __m256i c2, __m256i c3, int t0) {
      const __m256i u0 = _mm256_unpacklo_epi32(c0, c1);
      const __m256i u1 = _mm256_unpacklo_epi32(c2, c3);
      const __m256i u2 = _mm256_unpackhi_epi32(c0, c1);
      const __m256i u3 = _mm256_unpackhi_epi32(c2, c3);
      const __m256i v[4] = {
          _mm256_unpacklo_epi64(u0, u1), _mm256_unpackhi_epi64(u0, u1),
          _mm256_unpacklo_epi64(u2, u3), _mm256_unpackhi_epi64(u2, u3)};
      for (int i = 0; i < 4; ++i) {
        _mm_store_si128(reinterpret_cast<__m128i*>(d + (t0 + i) * kCols),
                        _mm256_castsi256_si128(v[i]));
        _mm_store_si128(reinterpret_cast<__m128i*>(d + (t0 + 8 + i) * kCols),
                        _mm256_extracti128_si256(v[i], 1));
      }
    };
    emit(lo0, lo1, lo2, lo3, 0);
    emit(hi0, hi1, hi2, hi3, 4);
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
