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
using simd::HMax;
using simd::HSum;

inline __m256 Tanh8(__m256 x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); |x| > 9 is +-1 in fp32.
  x = _mm256_min_ps(x, _mm256_set1_ps(9.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-9.0f));
  const __m256 e = Exp8(_mm256_add_ps(x, x));
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_sub_ps(
      one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

constexpr int kRows = 6;  // query rows per micro-tile

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
      __m256 o[8];
      simd::Transpose8x8(r, o);
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

// s[r][0..8*NC) = scale * sum_d q[r][d] * kt[d][0..8*NC) for R rows.
template <int R, int NC>
void ScoreTile(const float* q, int ld_q, const float* kt, int ld_kt, int dh,
               float scale, float* s, int ld_s) {
  __m256 acc[R][NC];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_setzero_ps();
  }
  for (int d = 0; d < dh; ++d) {
    const float* kd = kt + static_cast<long>(d) * ld_kt;
    __m256 kv[NC];
#pragma GCC unroll 2
    for (int c = 0; c < NC; ++c) kv[c] = _mm256_loadu_ps(kd + 8 * c);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 qv =
          _mm256_broadcast_ss(q + static_cast<long>(r) * ld_q + d);
#pragma GCC unroll 2
      for (int c = 0; c < NC; ++c)
        acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
  const __m256 vs = _mm256_set1_ps(scale);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* sr = s + static_cast<long>(r) * ld_s;
#pragma GCC unroll 2
    for (int c = 0; c < NC; ++c)
      _mm256_storeu_ps(sr + 8 * c, _mm256_mul_ps(acc[r][c], vs));
  }
}

template <int NC>
void ScoreTileDispatch(int r, const float* q, int ld_q, const float* kt,
                       int ld_kt, int dh, float scale, float* s, int ld_s) {
  switch (r) {
    case 6:
      return ScoreTile<6, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 5:
      return ScoreTile<5, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 4:
      return ScoreTile<4, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 3:
      return ScoreTile<3, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    case 2:
      return ScoreTile<2, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
    default:
      return ScoreTile<1, NC>(q, ld_q, kt, ld_kt, dh, scale, s, ld_s);
  }
}

// Scores of r (<= kRows) query rows against all ld_kt (a multiple of 8)
// packed keys: 16-key tiles, then one 8-key tile if ld_kt is not a multiple
// of 16 (so n = 75 computes 80 columns, n = 20 computes 24, not 32).
void ScoreRows(const float* q, int ld_q, int r, const float* kt, int ld_kt,
               int dh, float scale, float* s) {
  int j = 0;
  for (; j + 2 * 8 <= ld_kt; j += 2 * 8) {
    ScoreTileDispatch<2>(r, q, ld_q, kt + j, ld_kt, dh, scale, s + j, ld_kt);
  }
  if (j < ld_kt) {
    ScoreTileDispatch<1>(r, q, ld_q, kt + j, ld_kt, dh, scale, s + j, ld_kt);
  }
}

// probs[0..n) = softmax(s[0..n)); s is scratch (overwritten; probs may equal
// s). colsum (nullable): colsum[0..n) += probs[0..n).
void SoftmaxRow(float* s, int n, float* probs, float* colsum) {
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
  if (colsum == nullptr) {
    for (int c = 0; c < n8; c += 8) {
      _mm256_storeu_ps(probs + c, _mm256_mul_ps(_mm256_loadu_ps(s + c), inv));
    }
    if (tail) {
      _mm256_maskstore_ps(probs + n8, tmask,
                          _mm256_mul_ps(_mm256_loadu_ps(s + n8), inv));
    }
    return;
  }
  for (int c = 0; c < n8; c += 8) {
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(s + c), inv);
    _mm256_storeu_ps(probs + c, p);
    _mm256_storeu_ps(colsum + c, _mm256_add_ps(_mm256_loadu_ps(colsum + c), p));
  }
  if (tail) {
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(s + n8), inv);
    _mm256_maskstore_ps(probs + n8, tmask, p);
    _mm256_maskstore_ps(
        colsum + n8, tmask,
        _mm256_add_ps(_mm256_maskload_ps(colsum + n8, tmask), p));
  }
}

// ctx[r][0..8*NV) = sum_j p[r][j] * v[j][0..8*NV) for R rows.
template <int R, int NV>
void ContextTile(const float* const* p, int n_k, const float* v, int ld_v,
                 float* ctx, int ld_ctx) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int t = 0; t < NV; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  const float* pr[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) pr[r] = p[r];
  for (int j = 0; j < n_k; ++j) {
    const float* vj = v + static_cast<long>(j) * ld_v;
    __m256 vv[NV];
#pragma GCC unroll 2
    for (int t = 0; t < NV; ++t) vv[t] = _mm256_loadu_ps(vj + 8 * t);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 pb = _mm256_broadcast_ss(pr[r] + j);
#pragma GCC unroll 2
      for (int t = 0; t < NV; ++t)
        acc[r][t] = _mm256_fmadd_ps(pb, vv[t], acc[r][t]);
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
void ContextTileDispatch(int r, const float* const* p, int n_k, const float* v,
                         int ld_v, float* ctx, int ld_ctx) {
  switch (r) {
    case 6:
      return ContextTile<6, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
    case 5:
      return ContextTile<5, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
    case 4:
      return ContextTile<4, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
    case 3:
      return ContextTile<3, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
    case 2:
      return ContextTile<2, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
    default:
      return ContextTile<1, NV>(p, n_k, v, ld_v, ctx, ld_ctx);
  }
}

// Context of r (<= kRows) probability rows p[0..r) (dh a multiple of 8):
// 16 (then 8) head columns a tile.
void ContextRows(const float* const* p, int r, int n_k, const float* v,
                 int ld_v, int dh, float* ctx, int ld_ctx) {
  int c = 0;
  for (; c + 16 <= dh; c += 16) {
    ContextTileDispatch<2>(r, p, n_k, v + c, ld_v, ctx + c, ld_ctx);
  }
  if (c < dh) ContextTileDispatch<1>(r, p, n_k, v + c, ld_v, ctx + c, ld_ctx);
}

// Per-thread scratch (grow-only): K^T packed [dh][ld_kt] with zero padding,
// and one tile of scores [kRows][ld_kt].
struct HeadScratch {
  std::vector<float> kt, scores;
};

// Packs K^T into the thread's scratch; returns ld_kt (n_k rounded up to 8).
int PrepareKeys(const float* k, int ld_k, int n_k, int dh, float** kt,
                float** scores) {
  thread_local HeadScratch scratch;
  const int ld_kt = (n_k + 7) / 8 * 8;
  if (scratch.kt.size() < static_cast<size_t>(dh) * ld_kt) {
    scratch.kt.resize(static_cast<size_t>(dh) * ld_kt);
  }
  if (scratch.scores.size() < static_cast<size_t>(kRows) * ld_kt) {
    scratch.scores.resize(static_cast<size_t>(kRows) * ld_kt);
  }
  *kt = scratch.kt.data();
  *scores = scratch.scores.data();
  PackKTransposed(k, ld_k, n_k, dh, *kt, ld_kt);
  return ld_kt;
}

bool AttentionShapeOk(int n_q, int n_k, int dh) {
  return dh % 8 == 0 && dh <= 128 && n_k > 0 && n_q > 0;
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
    // Four independent accumulators per reduction: one dependent add (FMA)
    // chain of cols / 8 steps was the bottleneck (latency, not throughput:
    // 38% of this function's samples sat on the variance FMA).
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int c = 0;
    for (; c + 32 <= cols; c += 32) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(xr + c));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(xr + c + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(xr + c + 16));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(xr + c + 24));
    }
    for (; c < cols; c += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(xr + c));
    const float mean =
        HSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) /
        cols;
    const __m256 vm = _mm256_set1_ps(mean);
    __m256 q0 = _mm256_setzero_ps(), q1 = q0, q2 = q0, q3 = q0;
    auto dev = [&](int at) {
      return _mm256_sub_ps(_mm256_loadu_ps(xr + at), vm);
    };
    for (c = 0; c + 32 <= cols; c += 32) {
      const __m256 d0 = dev(c), d1 = dev(c + 8), d2 = dev(c + 16),
                   d3 = dev(c + 24);
      q0 = _mm256_fmadd_ps(d0, d0, q0);
      q1 = _mm256_fmadd_ps(d1, d1, q1);
      q2 = _mm256_fmadd_ps(d2, d2, q2);
      q3 = _mm256_fmadd_ps(d3, d3, q3);
    }
    for (; c < cols; c += 8) {
      const __m256 d = dev(c);
      q0 = _mm256_fmadd_ps(d, d, q0);
    }
    const __m256 sq =
        _mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3));
    const float inv = 1.0f / std::sqrt(HSum(sq) / cols + eps);
    const __m256 vi = _mm256_set1_ps(inv);
    for (c = 0; c < cols; c += 8) {
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

void AttentionHead_avx2(const float* q, const float* k, const float* v,
                        int ld_qkv, int n_q, int n_k, int dh, float scale,
                        float* probs, float* colsum, float* ctx, int ld_ctx) {
  if (!AttentionShapeOk(n_q, n_k, dh)) {
    return AttentionHead_ref(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs,
                             colsum, ctx, ld_ctx);
  }
  float *kt, *sc;
  const int ld_kt = PrepareKeys(k, ld_qkv, n_k, dh, &kt, &sc);
  // Per tile of kRows query rows: scores, softmax (in the L1 tile unless
  // probs are wanted), context.
  for (int i = 0; i < n_q; i += kRows) {
    const int r = std::min(kRows, n_q - i);
    ScoreRows(q + static_cast<long>(i) * ld_qkv, ld_qkv, r, kt, ld_kt, dh,
              scale, sc);
    const float* rows[kRows];
    for (int t = 0; t < r; ++t) {
      float* st = sc + static_cast<long>(t) * ld_kt;
      float* pt =
          probs != nullptr ? probs + static_cast<long>(i + t) * n_k : st;
      SoftmaxRow(st, n_k, pt, colsum);
      rows[t] = pt;
    }
    ContextRows(rows, r, n_k, v, ld_qkv, dh,
                ctx + static_cast<long>(i) * ld_ctx, ld_ctx);
  }
}

void AttentionProbs_avx2(const float* q, const float* k, int ld_qk, int n_q,
                         int n_k, int dh, float scale, float* probs,
                         int ld_probs, float* colsum) {
  if (!AttentionShapeOk(n_q, n_k, dh)) {
    return AttentionProbs_ref(q, k, ld_qk, n_q, n_k, dh, scale, probs, ld_probs,
                              colsum);
  }
  float *kt, *sc;
  const int ld_kt = PrepareKeys(k, ld_qk, n_k, dh, &kt, &sc);
  for (int i = 0; i < n_q; i += kRows) {
    const int r = std::min(kRows, n_q - i);
    ScoreRows(q + static_cast<long>(i) * ld_qk, ld_qk, r, kt, ld_kt, dh, scale,
              sc);
    for (int t = 0; t < r; ++t) {
      SoftmaxRow(sc + static_cast<long>(t) * ld_kt, n_k,
                 probs + static_cast<long>(i + t) * ld_probs, colsum);
    }
  }
}

void AttentionContext_avx2(const float* probs, int ld_probs, const int* rows,
                           int n_rows, int n_k, const float* v, int ld_v,
                           int dh, float* ctx, int ld_ctx) {
  if (!AttentionShapeOk(n_rows, n_k, dh)) {
    return AttentionContext_ref(probs, ld_probs, rows, n_rows, n_k, v, ld_v, dh,
                                ctx, ld_ctx);
  }
  for (int i = 0; i < n_rows; i += kRows) {
    const int r = std::min(kRows, n_rows - i);
    const float* p[kRows];
    for (int t = 0; t < r; ++t) {
      const int row = rows != nullptr ? rows[i + t] : i + t;
      p[t] = probs + static_cast<long>(row) * ld_probs;
    }
    ContextRows(p, r, n_k, v, ld_v, dh, ctx + static_cast<long>(i) * ld_ctx,
                ld_ctx);
  }
}

}  // namespace fastrel
