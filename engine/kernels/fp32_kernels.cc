#include "engine/kernels/fp32_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

void AttentionProbs_ref(const float* q, const float* k, int ld_qk, int n_q,
                        int n_k, int dh, float scale, float* probs,
                        int ld_probs, float* colsum) {
  for (int i = 0; i < n_q; ++i) {
    const float* qi = q + static_cast<long>(i) * ld_qk;
    float* pi = probs + static_cast<long>(i) * ld_probs;
    for (int j = 0; j < n_k; ++j) {
      const float* kj = k + static_cast<long>(j) * ld_qk;
      float dot = 0;
      for (int d = 0; d < dh; ++d) dot += qi[d] * kj[d];
      pi[j] = dot * scale;
    }
    SoftmaxRows_ref(pi, 1, n_k, n_k);
    if (colsum != nullptr) {
      for (int j = 0; j < n_k; ++j) colsum[j] += pi[j];
    }
  }
}

void AttentionContext_ref(const float* probs, int ld_probs, const int* rows,
                          int n_rows, int n_k, const float* v, int ld_v, int dh,
                          float* ctx, int ld_ctx) {
  for (int r = 0; r < n_rows; ++r) {
    const int i = rows != nullptr ? rows[r] : r;
    const float* pi = probs + static_cast<long>(i) * ld_probs;
    float* ci = ctx + static_cast<long>(r) * ld_ctx;
    std::fill(ci, ci + dh, 0.0f);
    for (int j = 0; j < n_k; ++j) {
      const float* vj = v + static_cast<long>(j) * ld_v;
      for (int d = 0; d < dh; ++d) ci[d] += pi[j] * vj[d];
    }
  }
}

void AttentionHead_ref(const float* q, const float* k, const float* v,
                       int ld_qkv, int n_q, int n_k, int dh, float scale,
                       float* probs, float* colsum, float* ctx, int ld_ctx) {
  // Row by row, so a null `probs` needs only one row of scratch.
  std::vector<float> row(probs == nullptr ? n_k : 0);
  for (int i = 0; i < n_q; ++i) {
    float* pi =
        probs != nullptr ? probs + static_cast<long>(i) * n_k : row.data();
    AttentionProbs_ref(q + static_cast<long>(i) * ld_qkv, k, ld_qkv, 1, n_k, dh,
                       scale, pi, n_k, colsum);
    AttentionContext_ref(pi, n_k, nullptr, 1, n_k, v, ld_qkv, dh,
                         ctx + static_cast<long>(i) * ld_ctx, ld_ctx);
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

void AttentionHead(const float* q, const float* k, const float* v, int ld_qkv,
                   int n_q, int n_k, int dh, float scale, float* probs,
                   float* colsum, float* ctx, int ld_ctx) {
  if (UseAvx2()) {
    return AttentionHead_avx2(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs,
                              colsum, ctx, ld_ctx);
  }
  AttentionHead_ref(q, k, v, ld_qkv, n_q, n_k, dh, scale, probs, colsum, ctx,
                    ld_ctx);
}

void AttentionProbs(const float* q, const float* k, int ld_qk, int n_q, int n_k,
                    int dh, float scale, float* probs, int ld_probs,
                    float* colsum) {
  if (UseAvx2()) {
    return AttentionProbs_avx2(q, k, ld_qk, n_q, n_k, dh, scale, probs,
                               ld_probs, colsum);
  }
  AttentionProbs_ref(q, k, ld_qk, n_q, n_k, dh, scale, probs, ld_probs, colsum);
}

void AttentionContext(const float* probs, int ld_probs, const int* rows,
                      int n_rows, int n_k, const float* v, int ld_v, int dh,
                      float* ctx, int ld_ctx) {
  if (UseAvx2()) {
    return AttentionContext_avx2(probs, ld_probs, rows, n_rows, n_k, v, ld_v,
                                 dh, ctx, ld_ctx);
  }
  AttentionContext_ref(probs, ld_probs, rows, n_rows, n_k, v, ld_v, dh, ctx,
                       ld_ctx);
}

}  // namespace fastrel
