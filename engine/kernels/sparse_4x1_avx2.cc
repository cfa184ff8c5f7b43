// AVX2 4x1 block-sparse tile kernel (see sparse_gemm.h for the scheme; the
// row-block loop is in sparse_4x1_avx2_core.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/sparse_4x1_avx2_core.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {

using avx2_4x1::Row32;

void Sparse4x1TileAvx2(const PackedSparseInt8& w, const void* xv, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);  // u8 codes reinterpreted
  const int k = w.k();
  thread_local std::vector<Row32> xbuf;
  xbuf.resize(k);
  uint8_t* xt = xbuf[0].v;
  if (act == ActType::kU8) {
    avx2_4x1::TransposeToScratch<true>(x, ldx, mt, k, xt);
  } else {
    avx2_4x1::TransposeToScratch<false>(x, ldx, mt, k, xt);
  }
  Sparse4x1ScratchTileAvx2(w, xt, act == ActType::kU8 ? 0 : 128,
                           reinterpret_cast<uintptr_t>(x) + 16 * ldx, ldx, mt,
                           out, ldo);
}

void Sparse4x1ScratchTileAvx2(const PackedSparseInt8& w, const uint8_t* xt,
                              int32_t shift, uintptr_t next_tile,
                              int64_t next_ldx, int mt, int32_t* out,
                              int64_t ldo) {
  // Results go to buf [16 tokens][kCols] and are copied out every kCols / 4
  // row blocks: 16-byte pieces straight into 16 rows 4 KB apart (N = 1024)
  // all land in one L1 set. Full tiles whose rows are not a multiple of 2 KB
  // apart (at most 4 rows per L1 set) are written straight to out.
  constexpr int kCols = 32;
  alignas(32) int32_t buf[16 * kCols];
  const bool direct = mt == 16 && (ldo * 4) % 2048 != 0;
  const int64_t ds = direct ? ldo : kCols;
  const int nrb = w.n() / 4;
  avx2_4x1::RowBlocks(
      w, xt, shift, {next_tile, next_ldx, w.k()},
      [&](int rb, const __m256i* acc) {
        // 4 channels x 16 tokens -> 16 tokens x 4 channels.
        int32_t* d = direct ? out + 4 * rb : buf + 4 * (rb % (kCols / 4));
        auto emit = [&](__m256i c0, __m256i c1, __m256i c2, __m256i c3,
                        int t0) {
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
        emit(acc[0], acc[2], acc[4], acc[6], 0);
        emit(acc[1], acc[3], acc[5], acc[7], 4);
        if (direct) return;
        if (rb % (kCols / 4) == kCols / 4 - 1) {
          int32_t* o = out + 4 * (rb + 1) - kCols;
          for (int t = 0; t < mt; ++t) {
            const __m256i* src =
                reinterpret_cast<const __m256i*>(buf + t * kCols);
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
      });
}

}  // namespace fastrel::internal
