// Internal to the AVX-512 VNNI sparse kernels (sparse_vnni.cc and the fused
// feed-forward tile, sparse_ffn_vnni.cc): vector ops at the three tile
// widths, the activation transposition and the 4x1 row-block loop, shared so
// both run the same instruction sequence. Header-only; include it only from
// translation units compiled with the AVX-512 flags (see sparse_gemm.h for
// the scheme).
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_VNNI_CORE_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_VNNI_CORE_H_

// GCC 12 reports false -W(maybe-)uninitialized warnings inside
// avx512fintrin.h for intrinsics built on _mm512_undefined_*; the values are
// fully written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/sparse_format.h"

namespace fastrel::internal::vnni {

inline __m128i Lane(const int8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Vector ops at the three tile widths W (tokens per tile = bytes per
// transposed activation row): zmm (64), ymm (32), xmm (16). Lane L below is a
// 128-bit lane (W / 16 of them).
template <int W>
struct V;

template <>
struct V<64> {
  using T = __m512i;
  static T Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static void Store(uint8_t* p, T v) { _mm512_storeu_si512(p, v); }
  static T Xor(T a, T b) { return _mm512_xor_si512(a, b); }
  // Lane b = 16 bytes at rows[16 * b] + kk.
  static T LoadLanes(const int8_t* const* rows, int kk) {
    T v = _mm512_castsi128_si512(Lane(rows[0] + kk));
    v = _mm512_inserti32x4(v, Lane(rows[16] + kk), 1);
    v = _mm512_inserti32x4(v, Lane(rows[32] + kk), 2);
    return _mm512_inserti32x4(v, Lane(rows[48] + kk), 3);
  }
  static T Zero() { return _mm512_setzero_si512(); }
  static T Set1(int32_t v) { return _mm512_set1_epi32(v); }
  // c += a (u8) . b (s8), in place: GCC's intrinsic copies the accumulator
  // to a fresh register on every step (a move per vpdpbusd).
  static void Dp(T& c, T a, T b) {
    asm("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
  }
  static T Lo8(T a, T b) { return _mm512_unpacklo_epi8(a, b); }
  static T Hi8(T a, T b) { return _mm512_unpackhi_epi8(a, b); }
  static T Lo16(T a, T b) { return _mm512_unpacklo_epi16(a, b); }
  static T Hi16(T a, T b) { return _mm512_unpackhi_epi16(a, b); }
  static T Lo32(T a, T b) { return _mm512_unpacklo_epi32(a, b); }
  static T Hi32(T a, T b) { return _mm512_unpackhi_epi32(a, b); }
  static T Lo64(T a, T b) { return _mm512_unpacklo_epi64(a, b); }
  static T Hi64(T a, T b) { return _mm512_unpackhi_epi64(a, b); }
  // Lane L of v to p + L * stride (int32 elements).
  static void StoreLanes(T v, int32_t* p, int64_t stride) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_castsi512_si128(v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + stride),
                     _mm512_extracti32x4_epi32(v, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 2 * stride),
                     _mm512_extracti32x4_epi32(v, 2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 3 * stride),
                     _mm512_extracti32x4_epi32(v, 3));
  }
};

template <>
struct V<32> {
  using T = __m256i;
  static T Load(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static void Store(uint8_t* p, T v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  }
  static T Xor(T a, T b) { return _mm256_xor_si256(a, b); }
  static T LoadLanes(const int8_t* const* rows, int kk) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(Lane(rows[0] + kk)),
                                   Lane(rows[16] + kk), 1);
  }
  static T Zero() { return _mm256_setzero_si256(); }
  static T Set1(int32_t v) { return _mm256_set1_epi32(v); }
  // c += a (u8) . b (s8), in place: GCC's intrinsic copies the accumulator
  // to a fresh register on every step (a move per vpdpbusd).
  static void Dp(T& c, T a, T b) {
    asm("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
  }
  static T Lo8(T a, T b) { return _mm256_unpacklo_epi8(a, b); }
  static T Hi8(T a, T b) { return _mm256_unpackhi_epi8(a, b); }
  static T Lo16(T a, T b) { return _mm256_unpacklo_epi16(a, b); }
  static T Hi16(T a, T b) { return _mm256_unpackhi_epi16(a, b); }
  static T Lo32(T a, T b) { return _mm256_unpacklo_epi32(a, b); }
  static T Hi32(T a, T b) { return _mm256_unpackhi_epi32(a, b); }
  static T Lo64(T a, T b) { return _mm256_unpacklo_epi64(a, b); }
  static T Hi64(T a, T b) { return _mm256_unpackhi_epi64(a, b); }
  static void StoreLanes(T v, int32_t* p, int64_t stride) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + stride),
                     _mm256_extracti128_si256(v, 1));
  }
};

template <>
struct V<16> {
  using T = __m128i;
  static T Load(const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  static void Store(uint8_t* p, T v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
  }
  static T Xor(T a, T b) { return _mm_xor_si128(a, b); }
  static T LoadLanes(const int8_t* const* rows, int kk) {
    return Lane(rows[0] + kk);
  }
  static T Zero() { return _mm_setzero_si128(); }
  static T Set1(int32_t v) { return _mm_set1_epi32(v); }
  // c += a (u8) . b (s8), in place: GCC's intrinsic copies the accumulator
  // to a fresh register on every step (a move per vpdpbusd).
  static void Dp(T& c, T a, T b) {
    asm("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
  }
  static T Lo8(T a, T b) { return _mm_unpacklo_epi8(a, b); }
  static T Hi8(T a, T b) { return _mm_unpackhi_epi8(a, b); }
  static T Lo16(T a, T b) { return _mm_unpacklo_epi16(a, b); }
  static T Hi16(T a, T b) { return _mm_unpackhi_epi16(a, b); }
  static T Lo32(T a, T b) { return _mm_unpacklo_epi32(a, b); }
  static T Hi32(T a, T b) { return _mm_unpackhi_epi32(a, b); }
  static T Lo64(T a, T b) { return _mm_unpacklo_epi64(a, b); }
  static T Hi64(T a, T b) { return _mm_unpackhi_epi64(a, b); }
  static void StoreLanes(T v, int32_t* p, int64_t /*stride*/) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
  }
};

// r[t] lane b = 16 bytes of row 16b + t -> r[i] lane b = byte i of rows
// 16b..16b+15 (Transpose16x16Bytes in every 128-bit lane).
template <int W>
inline void Transpose16(typename V<W>::T r[16]) {
  using X = V<W>;
  using T = typename X::T;
  T a[16], b[16];
  for (int i = 0; i < 8; ++i) {
    a[i] = X::Lo8(r[2 * i], r[2 * i + 1]);
    a[i + 8] = X::Hi8(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 4; ++i) {
      b[(2 * h) * 4 + i] = X::Lo16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
      b[(2 * h + 1) * 4 + i] = X::Hi16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
    }
  }
  for (int cg = 0; cg < 4; ++cg) {
    const T* bb = b + cg * 4;
    const T lo0 = X::Lo32(bb[0], bb[1]), hi0 = X::Hi32(bb[0], bb[1]);
    const T lo1 = X::Lo32(bb[2], bb[3]), hi1 = X::Hi32(bb[2], bb[3]);
    r[4 * cg + 0] = X::Lo64(lo0, lo1);
    r[4 * cg + 1] = X::Hi64(lo0, lo1);
    r[4 * cg + 2] = X::Lo64(hi0, hi1);
    r[4 * cg + 3] = X::Hi64(hi0, hi1);
  }
}

// xq[kk * W + t] = x[t][kk] ^ flip (u8; flip = 0x80 turns s8 into x + 128)
// for t < mt; rows t >= mt hold 0 ^ flip (their results are dropped). All
// W / 16 token blocks are transposed at once, one per 128-bit lane.
template <int W>
void TransposeToBytes(const int8_t* x, int64_t ldx, int mt, int k,
                      uint8_t flip_byte, uint8_t* xq) {
  using X = V<W>;
  using T = typename X::T;
  thread_local std::vector<int8_t> zeros;
  if (zeros.size() < static_cast<size_t>(k)) zeros.assign(k, 0);
  const int8_t* rows[W];
  for (int t = 0; t < W; ++t) rows[t] = t < mt ? x + t * ldx : zeros.data();
  const T flip = X::Set1(static_cast<int32_t>(0x01010101u * flip_byte));
  int kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    T r[16];
    for (int t = 0; t < 16; ++t) r[t] = X::LoadLanes(rows + t, kk);
    Transpose16<W>(r);
    for (int i = 0; i < 16; ++i)
      X::Store(xq + (kk + i) * W, X::Xor(r[i], flip));
  }
  for (; kk < k; ++kk) {
    for (int t = 0; t < W; ++t) {
      xq[kk * W + t] = static_cast<uint8_t>(rows[t][kk] ^ flip_byte);
    }
  }
}

// The 4x1 kernel's row-block loop on transposed activations xq [k][W].
// Per quad, the 4 blocks' activation rows are byte-interleaved by unpacks
// into a[u] (u = 0..3), whose 128-bit lane L, dword i holds the 4 bytes
// (x[t][k0], x[t][k1], x[t][k2], x[t][k3]) of token t = 16L + 4u + i: the
// vpdpbusd operand against the broadcast weight dword of each channel. The
// 16 accumulators acc[u][j] (channel j) are updated once per quad each, so
// the vpdpbusd latency is hidden at every width. After each row block rb,
// emit(rb, acc) with acc[u][j] = channel 4rb+j, lane L dword i = token
// 16L + 4u + i, exact int32 sums (s8: the -128 * col_sum compensation
// included).
template <int W, class Emit>
inline __attribute__((always_inline)) void RowBlocks4x1(
    const PackedSparseInt8& w, const uint8_t* xq, bool s8, Emit&& emit) {
  using X = V<W>;
  using T = typename X::T;
  const uint32_t* row_ptr = w.row_ptr().data();
  const uint32_t* off = w.col_off32().data();  // col * 32
  const int32_t* vq = reinterpret_cast<const int32_t*>(w.val().data());
  const int32_t* col_sum = w.col_sums().data();
  const int nrb = w.n() / 4;
  auto row = [&](uint32_t o) {
    if constexpr (W == 16) return xq + (o >> 1);
    return xq + static_cast<size_t>(o) * (W / 32);
  };
  for (int rb = 0; rb < nrb; ++rb) {
    // Accumulators c<u><j> (token group u, channel j) start at
    // -128 * col_sum[j] (s8: x + 128 is fed) or 0 (u8). Named variables,
    // not an array: GCC keeps an array that the asm below updates in memory.
    const int32_t* cs = col_sum + 4 * rb;
    const T i0 = X::Set1(s8 ? -128 * cs[0] : 0);
    const T i1 = X::Set1(s8 ? -128 * cs[1] : 0);
    const T i2 = X::Set1(s8 ? -128 * cs[2] : 0);
    const T i3 = X::Set1(s8 ? -128 * cs[3] : 0);
    T c00 = i0, c01 = i1, c02 = i2, c03 = i3, c10 = i0, c11 = i1, c12 = i2,
      c13 = i3, c20 = i0, c21 = i1, c22 = i2, c23 = i3, c30 = i0, c31 = i1,
      c32 = i2, c33 = i3;
    const uint32_t qend = row_ptr[rb + 1] / 4;
    for (uint32_t q = row_ptr[rb] / 4; q < qend; ++q) {
      const uint32_t* oq = off + 4 * q;
      const int32_t* wq = vq + 4 * q;
      _mm_prefetch(reinterpret_cast<const char*>(wq + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(oq + 64), _MM_HINT_T0);
      const T r0 = X::Load(row(oq[0])), r1 = X::Load(row(oq[1]));
      const T r2 = X::Load(row(oq[2])), r3 = X::Load(row(oq[3]));
      const T l01 = X::Lo8(r0, r1), h01 = X::Hi8(r0, r1);
      const T l23 = X::Lo8(r2, r3), h23 = X::Hi8(r2, r3);
      const T a0 = X::Lo16(l01, l23), a1 = X::Hi16(l01, l23);
      const T a2 = X::Lo16(h01, h23), a3 = X::Hi16(h01, h23);
      const T w0 = X::Set1(wq[0]), w1 = X::Set1(wq[1]);
      const T w2 = X::Set1(wq[2]), w3 = X::Set1(wq[3]);
      X::Dp(c00, a0, w0), X::Dp(c01, a0, w1), X::Dp(c02, a0, w2);
      X::Dp(c03, a0, w3), X::Dp(c10, a1, w0), X::Dp(c11, a1, w1);
      X::Dp(c12, a1, w2), X::Dp(c13, a1, w3), X::Dp(c20, a2, w0);
      X::Dp(c21, a2, w1), X::Dp(c22, a2, w2), X::Dp(c23, a2, w3);
      X::Dp(c30, a3, w0), X::Dp(c31, a3, w1), X::Dp(c32, a3, w2);
      X::Dp(c33, a3, w3);
    }
    const T acc[4][4] = {{c00, c01, c02, c03},
                         {c10, c11, c12, c13},
                         {c20, c21, c22, c23},
                         {c30, c31, c32, c33}};
    emit(rb, acc);
  }
}

}  // namespace fastrel::internal::vnni

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_VNNI_CORE_H_
