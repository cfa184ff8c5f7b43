// AVX2 + FMA versions of the fp32 kernels (compiled with FASTREL_AVX2_FLAGS,
// reached only through the dispatchers in fp32_kernels.cc).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/kernels/fp32_kernels.h"
#include "engine/kernels/simd_math_avx2.h"

namespace fastrel {
namespace {

using simd::Exp8;
using simd::Gelu8;

inline float HSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_hadd_ps(lo, lo);
  lo = _mm_hadd_ps(lo, lo);
  return _mm_cvtss_f32(lo);
}

inline float HMax(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_max_ps(lo, hi);
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

inline __m256 Tanh8(__m256 x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); |x| > 9 is +-1 in fp32.
  x = _mm256_min_ps(x, _mm256_set1_ps(9.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-9.0f));
  const __m256 e = Exp8(_mm256_add_ps(x, x));
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_sub_ps(
      one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

constexpr int kRows = 6;       // query rows per micro-tile
constexpr int kTileCols = 16;  // key columns per score micro-tile

// kt[d][j] = k[j][d] for j < n_k; columns [n_k, ld_kt) are zero.
void PackKTransposed(const float* k, int ld_k, int n_k, int dh, float* kt,
                     int ld_kt) {
  for (int d = 0; d < dh; ++d) {
    float* row = kt + static_cast<long>(d) * ld_kt;
    for (int j = n_k; j < ld_kt; ++j) row[j] = 0.0f;
  }
  // 8 keys x 8 dims blocks via an in-register transpose when possible.
  int j = 0;
  for (; j + 8 <= n_k; j += 8) {
    for (int d = 0; d < dh; d += 8) {
      __m256 r[8];
      for (int t = 0; t < 8; ++t) {
        r[t] = _mm256_loadu_ps(k + static_cast<long>(j + t) * ld_k + d);
      }
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
      const __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
      const __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
      const __m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
      const __m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 o[8] = {_mm256_permute2f128_ps(u0, u4, 0x20),
                           _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20),
                           _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31),
                           _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31),
                           _mm256_permute2f128_ps(u3, u7, 0x31)};
      for (int t = 0; t < 8; ++t) {
        _mm256_storeu_ps(kt + static_cast<long>(d + t) * ld_kt + j, o[t]);
      }
    }
  }
  for (; j < n_k; ++j) {
    const float* kj = k + static_cast<long>(j) * ld_k;
    for (int d = 0; d < dh; ++d) kt[static_cast<long>(d) * ld_kt + j] = kj[d];
  }
}

// s[r][0..16) = scale * sum_d q[r][d] * kt[d][0..16) for R rows.
template <int R>
void ScoreTile(const float* q, int ld_q, const float* kt, int ld_kt, int dh,
               float scale, float* s, int ld_s) {
  __m256 a0[R], a1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
  for (int d = 0; d < dh; ++d) {
    const float* kd = kt + static_cast<long>(d) * ld_kt;
    const __m256 k0 = _mm256_loadu_ps(kd);
    const __m256 k1 = _mm256_loadu_ps(kd + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 qv =
          _mm256_broadcast_ss(q + static_cast<long>(r) * ld_q + d);
      a0[r] = _mm256_fmadd_ps(qv, k0, a0[r]);
      a1[r] = _mm256_fmadd_ps(qv, k1, a1[r]);
    }
  }
  const __m256 vs = _mm256_set1_ps(scale);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* sr = s + static_cast<long>(r) * ld_s;
    _mm256_storeu_ps(sr, _mm256_mul_ps(a0[r], vs));
    _mm256_storeu_ps(sr + 8, _mm256_mul_ps(a1[r], vs));
  }
}

void ScoreTileDispatch(int r, const float* q, int ld_q, const float* kt,
                       int ld_kt, int dh, float scale, float* s, int ld_s) {
  switch (r) {
    case 6:
      return ScoreTile<6>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 5:
      return ScoreTile<5>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 4:
      return ScoreTile<4>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 3:
      return ScoreTile<3>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 2:
      return ScoreTile<2>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    default:
      return ScoreTile<1>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
  }
}

// probs[0..n) = softmax(s[0..n)); s is scratch (overwritten).
void SoftmaxRowToProbs(float* s, int n, float* probs) {
  const int n8 = n / 8 * 8;
  const int tail = n - n8;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i tmask = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), lane);
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 vm = ninf;
  for (int c = 0; c < n8; c += 8)
    vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + c));
  if (tail) {
    vm = _mm256_max_ps(vm, _mm256_blendv_ps(ninf, _mm256_loadu_ps(s + n8),
                                            _mm256_castsi256_ps(tmask)));
  }
  const __m256 m = _mm256_set1_ps(HMax(vm));
  __m256 vs = _mm256_setzero_ps();
  for (int c = 0; c < n8; c += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(s + c), m));
    _mm256_storeu_ps(s + c, e);
    vs = _mm256_add_ps(vs, e);
  }
  if (tail) {
    const __m256 e =
        _mm256_and_ps(Exp8(_mm256_sub_ps(_mm256_loadu_ps(s + n8), m)),
                      _mm256_castsi256_ps(tmask));
    _mm256_storeu_ps(s + n8, e);
    vs = _mm256_add_ps(vs, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / HSum(vs));
  for (int c = 0; c < n8; c += 8) {
    _mm256_storeu_ps(probs + c, _mm256_mul_ps(_mm256_loadu_ps(s + c), inv));
  }
  if (tail) {
    _mm256_maskstore_ps(probs + n8, tmask,
                        _mm256_mul_ps(_mm256_loadu_ps(s + n8), inv));
  }
}

// ctx[r][0..8*NV) = sum_j p[r][j] * v[j][0..8*NV) for R rows.
template <int R, int NV>
void ContextTile(const float* p, int ld_p, int n_k, const float* v, int ld_v,
                 float* ctx, int ld_ctx) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NV; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int j = 0; j < n_k; ++j) {
    const float* vj = v + static_cast<long>(j) * ld_v;
    __m256 vv[NV];
#pragma GCC unroll 2
    for (int t = 0; t < NV; ++t) vv[t] = _mm256_loadu_ps(vj + 8 * t);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 pr =
          _mm256_broadcast_ss(p + static_cast<long>(r) * ld_p + j);
#pragma GCC unroll 2
      for (int t = 0; t < NV; ++t)
        acc[r][t] = _mm256_fmadd_ps(pr, vv[t], acc[r][t]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NV; ++t) {
      _mm256_storeu_ps(ctx + static_cast<long>(r) * ld_ctx + 8 * t, acc[r][t]);
    }
  }
}

template <int NV>
void ContextTileDispatch(int r, const float* p, int n_k, const float* v,
                         int ld_v, float* ctx, int ld_ctx) {
  switch (r) {
    case 6:
      return ContextTile<6, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
    case 5:
      return ContextTile<5, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
    case 4:
      return ContextTile<4, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
    case 3:
      return ContextTile<3, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
    case 2:
      return ContextTile<2, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
    default:
      return ContextTile<1, NV>(p, n_k, n_k, v, ld_v, ctx, ld_ctx);
  }
}

}  // namespace

void LayerNorm_avx2(const float* x, int rows, int cols, int ld,
                    const float* gamma, const float* beta, float eps,
                    float* y) {
  if (cols % 8 != 0)
    return LayerNorm_ref(x, rows, cols, ld, gamma, beta, eps, y);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<long>(r) * ld;
    float* yr = y + static_cast<long>(r) * ld;
    __m256 s = _mm256_setzero_ps();
    for (int c = 0; c < cols; c += 8)
      s = _mm256_add_ps(s, _mm256_loadu_ps(xr + c));
    const float mean = HSum(s) / cols;
    const __m256 vm = _mm256_set1_ps(mean);
    __m256 sq = _mm256_setzero_ps();
    for (int c = 0; c < cols; c += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + c), vm);
      sq = _mm256_fmadd_ps(d, d, sq);
    }
    const float inv = 1.0f / std::sqrt(HSum(sq) / cols + eps);
    const __m256 vi = _mm256_set1_ps(inv);
    for (int c = 0; c < cols; c += 8) {
      const __m256 d =
          _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + c), vm), vi);
      _mm256_storeu_ps(yr + c, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + c),
                                               _mm256_loadu_ps(beta + c)));
    }
  }
}

void GeluErf_avx2(float* x, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, Gelu8(_mm256_loadu_ps(x + i)));
  if (i < n) GeluErf_ref(x + i, n - i);
}

void Tanh_avx2(float* x, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, Tanh8(_mm256_loadu_ps(x + i)));
  if (i < n) Tanh_ref(x + i, n - i);
}

void SoftmaxRows_avx2(float* x, int rows, int cols, int ld) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<long>(r) * ld;
    int c = 0;
    float m = xr[0];
    if (cols >= 8) {
      __m256 vm = _mm256_loadu_ps(xr);
      for (c = 8; c + 8 <= cols; c += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(xr + c));
      m = HMax(vm);
    } else {
      c = 1;
    }
    for (; c < cols; ++c) m = std::max(m, xr[c]);
    const __m256 vm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    c = 0;
    for (; c + 8 <= cols; c += 8) {
      const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(xr + c), vm));
      _mm256_storeu_ps(xr + c, e);
      vs = _mm256_add_ps(vs, e);
    }
    float sum = HSum(vs);
    for (; c < cols; ++c) {
      xr[c] = std::exp(xr[c] - m);
      sum += xr[c];
    }
    const float inv = 1.0f / sum;
    const __m256 vi = _mm256_set1_ps(inv);
    c = 0;
    for (; c + 8 <= cols; c += 8) {
      _mm256_storeu_ps(xr + c, _mm256_mul_ps(_mm256_loadu_ps(xr + c), vi));
    }
    for (; c < cols; ++c) xr[c] *= inv;
  }
}

void AttentionHead_avx2(const float* q, const float* k, const float* v,
                        int ld_qkv, int n_q, int n_k, int dh, float scale,
                        float* probs, float* ctx, int ld_ctx) {
  if (dh % 8 != 0 || dh > 128 || n_k <= 0 || n_q <= 0) {
    return AttentionHead_ref(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs, ctx,
                             ld_ctx);
  }
  // Per-thread scratch (grow-only): K^T packed [dh][ld_kt] with zero padding,
  // and the scores [n_q][ld_kt].
  thread_local std::vector<float> kt_buf, s_buf;
  const int ld_kt = (n_k + kTileCols - 1) / kTileCols * kTileCols;
  if (kt_buf.size() < static_cast<size_t>(dh) * ld_kt) {
    kt_buf.resize(static_cast<size_t>(dh) * ld_kt);
  }
  if (s_buf.size() < static_cast<size_t>(n_q) * ld_kt) {
    s_buf.resize(static_cast<size_t>(n_q) * ld_kt);
  }
  float* kt = kt_buf.data();
  float* sc = s_buf.data();
  PackKTransposed(k, ld_qkv, n_k, dh, kt, ld_kt);

  // Scores: register-blocked micro-GEMM, kRows query rows x 16 keys a tile.
  for (int i = 0; i < n_q; i += kRows) {
    const int r = std::min(kRows, n_q - i);
    const float* qi = q + static_cast<long>(i) * ld_qkv;
    float* si = sc + static_cast<long>(i) * ld_kt;
    for (int j = 0; j < ld_kt; j += kTileCols) {
      ScoreTileDispatch(r, qi, ld_qkv, kt + j, ld_kt, dh, scale, si + j, ld_kt);
    }
  }
  // Softmax of each row's n_k scores (padding excluded), written to probs.
  for (int i = 0; i < n_q; ++i) {
    SoftmaxRowToProbs(sc + static_cast<long>(i) * ld_kt, n_k,
                      probs + static_cast<long>(i) * n_k);
  }
  // Context: kRows probability rows x 16 (or 8) head columns a tile.
  for (int i = 0; i < n_q; i += kRows) {
    const int r = std::min(kRows, n_q - i);
    const float* pi = probs + static_cast<long>(i) * n_k;
    float* ci = ctx + static_cast<long>(i) * ld_ctx;
    int c = 0;
    for (; c + 16 <= dh; c += 16) {
      ContextTileDispatch<2>(r, pi, n_k, v + c, ld_qkv, ci + c, ld_ctx);
    }
    if (c < dh)
      ContextTileDispatch<1>(r, pi, n_k, v + c, ld_qkv, ci + c, ld_ctx);
  }
}

}  // namespace fastrel
