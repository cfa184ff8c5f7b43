// AVX-512 VNNI tile kernels for 4x1 and N:M (see sparse_gemm.h). Activations
// enter vpdpbusd as u8 (x ^ 0x80 = x + 128); the 128 * col_sum[n] excess is
// subtracted before the store.
// GCC 12 reports a false -Wmaybe-uninitialized inside avx512fintrin.h for
// intrinsics built on _mm512_undefined_*; the values are fully written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/sparse_gemm.h"
#include "engine/kernels/sparse_vnni_core.h"

namespace fastrel::internal {
namespace {

using vnni::RowBlocks4x1;
using vnni::Transpose16;
using vnni::TransposeToBytes;
using vnni::V;

// One W-token tile of the 4x1 kernel on transposed activations xq [k][W]
// (the loop: RowBlocks4x1, sparse_vnni_core.h).
template <int W>
void Tile4x1(const PackedSparseInt8& w, const uint8_t* xq, bool s8, int mt,
             int32_t* out, int64_t ldo) {
  using X = V<W>;
  using T = typename X::T;
  // Results go to buf [W tokens][kCols] first and are copied out every
  // kCols / 4 row blocks: writing each row block's 16 bytes straight into W
  // output rows (up to 64 pages apart when N = 1024) thrashes the DTLB.
  constexpr int kCols = 32;
  alignas(64) int32_t buf[W * kCols];
  const int nrb = w.n() / 4;
  RowBlocks4x1<W>(w, xq, s8, [&](int rb, const T(&acc)[4][4]) {
  // Per u: 4 channels x (lanes of 4 tokens) -> r[v] lane L = the 4
  // channels of token 16L + 4u + v.
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const T c0 = acc[u][0], c1 = acc[u][1], c2 = acc[u][2], c3 = acc[u][3];
      const T lo01 = X::Lo32(c0, c1), hi01 = X::Hi32(c0, c1);
      const T lo23 = X::Lo32(c2, c3), hi23 = X::Hi32(c2, c3);
      int32_t* d = buf + 4 * u * kCols + 4 * (rb % (kCols / 4));
      X::StoreLanes(X::Lo64(lo01, lo23), d, 16 * kCols);
      X::StoreLanes(X::Hi64(lo01, lo23), d + kCols, 16 * kCols);
      X::StoreLanes(X::Lo64(hi01, hi23), d + 2 * kCols, 16 * kCols);
      X::StoreLanes(X::Hi64(hi01, hi23), d + 3 * kCols, 16 * kCols);
    }
    if (rb % (kCols / 4) == kCols / 4 - 1) {
      int32_t* o = out + 4 * (rb + 1) - kCols;
      for (int t = 0; t < mt; ++t) {
        const __m512i* src = reinterpret_cast<const __m512i*>(buf + t * kCols);
        _mm512_storeu_si512(o + t * ldo, _mm512_load_si512(src));
        _mm512_storeu_si512(o + t * ldo + 16, _mm512_load_si512(src + 1));
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

template <int W>
void Run4x1(const PackedSparseInt8& w, const int8_t* x, bool s8, int64_t ldx,
            int mt, int32_t* out, int64_t ldo) {
  const int k = w.k();
  thread_local std::vector<uint8_t> xbuf;
  xbuf.resize(static_cast<size_t>(k) * W);
  TransposeToBytes<W>(x, ldx, mt, k, s8 ? 0x80 : 0, xbuf.data());
  Tile4x1<W>(w, xbuf.data(), s8, mt, out, ldo);
}

}  // namespace

void Sparse4x1TileVnni(const PackedSparseInt8& w, const void* xv, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);
  // s8: x + 128 enters vpdpbusd, 128 * col_sum is subtracted; u8: as is.
  const bool s8 = act == ActType::kS8;
  if (mt > 32) {
    Run4x1<64>(w, x, s8, ldx, mt, out, ldo);
  } else if (mt > 16) {
    Run4x1<32>(w, x, s8, ldx, mt, out, ldo);
  } else {
    Run4x1<16>(w, x, s8, ldx, mt, out, ldo);
  }
}

void Sparse4x1ScratchTileVnni64(const PackedSparseInt8& w, const uint8_t* xq,
                                bool s8, int mt, int32_t* out, int64_t ldo) {
  Tile4x1<64>(w, xq, s8, mt, out, ldo);
}

void SparseNMTileVnni(const PackedSparseInt8& w, const void* xv, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  const int8_t* x = static_cast<const int8_t*>(xv);
  const bool s8 = act == ActType::kS8;
  const uint8_t flip = s8 ? 0x80 : 0;
  const int k = w.k(), n = w.n(), span = w.span(), chunks = w.chunks();
  const int kp = chunks * span + 16;
  thread_local std::vector<uint8_t> xpad;
  xpad.assign(static_cast<size_t>(16) * kp, 0x80);
  for (int t = 0; t < mt; ++t) {
    const int8_t* src = x + t * ldx;
    uint8_t* dst = &xpad[t * kp];
    for (int i = 0; i < k; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ flip);
  }
  const uint8_t* idx = w.nm_idx().data();
  const int8_t* val = w.val().data();
  const int32_t* col_sum = w.col_sums().data();
  for (int rt = 0; rt < w.n_pad() / 16; ++rt) {
    const int r0 = rt * 16;
    const int rows = std::min(16, n - r0);
    const __mmask16 rmask = static_cast<__mmask16>((1u << rows) - 1);
    const __m512i comp =
        s8 ? _mm512_slli_epi32(_mm512_maskz_loadu_epi32(rmask, col_sum + r0), 7)
           : _mm512_setzero_si512();
    for (int t0 = 0; t0 < mt; t0 += 8) {
      __m512i acc[8];
      for (auto& a : acc) a = _mm512_setzero_si512();
      const uint8_t* xb = xpad.data() + t0 * kp;
      for (int c = 0; c < chunks; ++c) {
        const size_t pos = (static_cast<size_t>(rt) * chunks + c) * 64;
        const __m512i mask = _mm512_loadu_si512(idx + pos);
        const __m512i wv = _mm512_loadu_si512(val + pos);
        // Fully unrolled so acc[] lives in registers.
#pragma GCC unroll 8
        for (int t = 0; t < 8; ++t) {
          const __m512i xw = _mm512_broadcast_i32x4(_mm_loadu_si128(
              reinterpret_cast<const __m128i*>(xb + t * kp + c * span)));
          acc[t] =
              _mm512_dpbusd_epi32(acc[t], _mm512_shuffle_epi8(xw, mask), wv);
        }
      }
      const int tn = std::min(8, mt - t0);
      for (int t = 0; t < tn; ++t) {
        _mm512_mask_storeu_epi32(out + (t0 + t) * ldo + r0, rmask,
                                 _mm512_sub_epi32(acc[t], comp));
      }
    }
  }
}

}  // namespace fastrel::internal
