// AVX2 + FMA versions of the fp32 kernels (compiled with FASTREL_AVX2_FLAGS,
// reached only through the dispatchers in fp32_kernels.cc).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/fp32_kernels.h"

namespace fastrel {
namespace {

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

// exp(x), Cephes-style range reduction + degree-5 polynomial; relative error
// ~2 ulp on [-87, 88]; inputs below -87.3 give ~0.
inline __m256 Exp(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447504f));
  __m256 fx = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
  fx = _mm256_round_ps(fx, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
  e = _mm256_slli_epi32(e, 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// erf(x): rational approximation on [-4, 4] (erf is +-1 to fp32 precision
// outside); absolute error ~1e-7.
inline __m256 Erf(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(4.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-4.0f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
  p = _mm256_mul_ps(p, x);
  __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
  return _mm256_div_ps(p, q);
}

inline __m256 Tanh8(__m256 x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); |x| > 9 is +-1 in fp32.
  x = _mm256_min_ps(x, _mm256_set1_ps(9.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-9.0f));
  const __m256 e = Exp(_mm256_add_ps(x, x));
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_sub_ps(
      one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

inline __m256 Gelu8(__m256 x) {
  const __m256 e = Erf(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// ctx_i = sum_j probs[i][j] * v_j for head size 8 * NV.
template <int NV>
void AttentionContext(const float* probs, const float* v, int ld_v, int n_q,
                      int n_k, float* ctx, int ld_ctx) {
  for (int i = 0; i < n_q; ++i) {
    const float* pi = probs + static_cast<long>(i) * n_k;
    __m256 acc[NV];
#pragma GCC unroll 16
    for (int t = 0; t < NV; ++t) acc[t] = _mm256_setzero_ps();
    for (int j = 0; j < n_k; ++j) {
      const __m256 p = _mm256_set1_ps(pi[j]);
      const float* vj = v + static_cast<long>(j) * ld_v;
#pragma GCC unroll 16
      for (int t = 0; t < NV; ++t) {
        acc[t] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8 * t), acc[t]);
      }
    }
    float* ci = ctx + static_cast<long>(i) * ld_ctx;
#pragma GCC unroll 16
    for (int t = 0; t < NV; ++t) _mm256_storeu_ps(ci + 8 * t, acc[t]);
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
      const __m256 e = Exp(_mm256_sub_ps(_mm256_loadu_ps(xr + c), vm));
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
  if (dh % 8 != 0 || dh > 128) {
    return AttentionHead_ref(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs, ctx,
                             ld_ctx);
  }
  // Scores: four keys at a time, reduced with horizontal adds.
  for (int i = 0; i < n_q; ++i) {
    const float* qi = q + static_cast<long>(i) * ld_qkv;
    float* pi = probs + static_cast<long>(i) * n_k;
    int j = 0;
    for (; j + 4 <= n_k; j += 4) {
      const float* k0 = k + static_cast<long>(j) * ld_qkv;
      const float* k1 = k0 + ld_qkv;
      const float* k2 = k1 + ld_qkv;
      const float* k3 = k2 + ld_qkv;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      for (int d = 0; d < dh; d += 8) {
        const __m256 qv = _mm256_loadu_ps(qi + d);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
      }
      const __m256 h =
          _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
      const __m128 s4 =
          _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
      _mm_storeu_ps(pi + j, _mm_mul_ps(s4, _mm_set1_ps(scale)));
    }
    for (; j < n_k; ++j) {
      const float* kj = k + static_cast<long>(j) * ld_qkv;
      __m256 a = _mm256_setzero_ps();
      for (int d = 0; d < dh; d += 8) {
        a = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), _mm256_loadu_ps(kj + d),
                            a);
      }
      pi[j] = HSum(a) * scale;
    }
  }
  SoftmaxRows_avx2(probs, n_q, n_k, n_k);
  // Context: the row's dh/8 accumulators stay in registers when dh is a
  // compile-time constant (common head sizes); otherwise a generic loop.
  switch (dh / 8) {
    case 1:
      return AttentionContext<1>(probs, v, ld_qkv, n_q, n_k, ctx, ld_ctx);
    case 2:
      return AttentionContext<2>(probs, v, ld_qkv, n_q, n_k, ctx, ld_ctx);
    case 4:
      return AttentionContext<4>(probs, v, ld_qkv, n_q, n_k, ctx, ld_ctx);
    case 8:
      return AttentionContext<8>(probs, v, ld_qkv, n_q, n_k, ctx, ld_ctx);
    case 16:
      return AttentionContext<16>(probs, v, ld_qkv, n_q, n_k, ctx, ld_ctx);
    default:
      break;
  }
  const int nv = dh / 8;
  for (int i = 0; i < n_q; ++i) {
    const float* pi = probs + static_cast<long>(i) * n_k;
    float* ci = ctx + static_cast<long>(i) * ld_ctx;
    __m256 acc[16];
    for (int t = 0; t < nv; ++t) acc[t] = _mm256_setzero_ps();
    for (int j = 0; j < n_k; ++j) {
      const __m256 p = _mm256_set1_ps(pi[j]);
      const float* vj = v + static_cast<long>(j) * ld_qkv;
      for (int t = 0; t < nv; ++t) {
        acc[t] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8 * t), acc[t]);
      }
    }
    for (int t = 0; t < nv; ++t) _mm256_storeu_ps(ci + 8 * t, acc[t]);
  }
}

}  // namespace fastrel
