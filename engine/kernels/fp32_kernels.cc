#include "engine/kernels/fp32_kernels.h"

#include <algorithm>
#include <cmath>

#include "engine/kernels/cpu_features.h"

namespace fastrel {

void LayerNorm_ref(const float* x, int rows, int cols, int ld,
                   const float* gamma, const float* beta, float eps, float* y) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<long>(r) * ld;
    float* yr = y + static_cast<long>(r) * ld;
    double sum = 0;
    for (int c = 0; c < cols; ++c) sum += xr[c];
    const double mean = sum / cols;
    double sq = 0;
    for (int c = 0; c < cols; ++c) sq += (xr[c] - mean) * (xr[c] - mean);
    const double inv = 1.0 / std::sqrt(sq / cols + eps);
    for (int c = 0; c < cols; ++c) {
      yr[c] = static_cast<float>((xr[c] - mean) * inv) * gamma[c] + beta[c];
    }
  }
}

void GeluErf_ref(float* x, long n) {
  for (long i = 0; i < n; ++i) {
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
  }
}

void Tanh_ref(float* x, long n) {
  for (long i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void SoftmaxRows_ref(float* x, int rows, int cols, int ld) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<long>(r) * ld;
    float m = xr[0];
    for (int c = 1; c < cols; ++c) m = std::max(m, xr[c]);
    double sum = 0;
    for (int c = 0; c < cols; ++c) {
      xr[c] = std::exp(xr[c] - m);
      sum += xr[c];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int c = 0; c < cols; ++c) xr[c] *= inv;
  }
}

void AttentionHead_ref(const float* q, const float* k, const float* v,
                       int ld_qkv, int n_q, int n_k, int dh, float scale,
                       float* probs, float* ctx, int ld_ctx) {
  for (int i = 0; i < n_q; ++i) {
    const float* qi = q + static_cast<long>(i) * ld_qkv;
    float* pi = probs + static_cast<long>(i) * n_k;
    for (int j = 0; j < n_k; ++j) {
      const float* kj = k + static_cast<long>(j) * ld_qkv;
      float dot = 0;
      for (int d = 0; d < dh; ++d) dot += qi[d] * kj[d];
      pi[j] = dot * scale;
    }
  }
  SoftmaxRows_ref(probs, n_q, n_k, n_k);
  for (int i = 0; i < n_q; ++i) {
    const float* pi = probs + static_cast<long>(i) * n_k;
    float* ci = ctx + static_cast<long>(i) * ld_ctx;
    std::fill(ci, ci + dh, 0.0f);
    for (int j = 0; j < n_k; ++j) {
      const float* vj = v + static_cast<long>(j) * ld_qkv;
      for (int d = 0; d < dh; ++d) ci[d] += pi[j] * vj[d];
    }
  }
}

namespace {
bool UseAvx2() { return GetCpuFeatures().avx2; }
}  // namespace

void LayerNorm(const float* x, int rows, int cols, int ld, const float* gamma,
               const float* beta, float eps, float* y) {
  if (UseAvx2()) return LayerNorm_avx2(x, rows, cols, ld, gamma, beta, eps, y);
  LayerNorm_ref(x, rows, cols, ld, gamma, beta, eps, y);
}

void GeluErf(float* x, long n) {
  if (UseAvx2()) return GeluErf_avx2(x, n);
  GeluErf_ref(x, n);
}

void Tanh(float* x, long n) {
  if (UseAvx2()) return Tanh_avx2(x, n);
  Tanh_ref(x, n);
}

void SoftmaxRows(float* x, int rows, int cols, int ld) {
  if (UseAvx2()) return SoftmaxRows_avx2(x, rows, cols, ld);
  SoftmaxRows_ref(x, rows, cols, ld);
}

void AttentionHead(const float* q, const float* k, const float* v, int ld_qkv,
                   int n_q, int n_k, int dh, float scale, float* probs,
                   float* ctx, int ld_ctx) {
  if (UseAvx2()) {
    return AttentionHead_avx2(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs, ctx,
                              ld_ctx);
  }
  AttentionHead_ref(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs, ctx, ld_ctx);
}

}  // namespace fastrel
