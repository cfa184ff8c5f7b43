// fp32 element-wise and attention kernels used by the encoder: LayerNorm,
// erf-GELU, tanh, row softmax and single-head attention. Each kernel has a
// scalar *_ref twin (always compiled, the numerical reference) and an AVX2
// version; the plain name dispatches by GetCpuFeatures() at run time.
//
// All pointers are caller-owned; no kernel allocates, except that
// AttentionHead_avx2 keeps grow-only thread-local scratch (packed K^T and
// scores; it stops allocating once a thread has seen its largest head). Rows are contiguous with
// the stated leading dimension (in floats).
// Thread safety: all functions are reentrant.
#ifndef FASTREL_ENGINE_KERNELS_FP32_KERNELS_H_
#define FASTREL_ENGINE_KERNELS_FP32_KERNELS_H_

namespace fastrel {

// y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of `rows`
// rows of `cols` floats (biased variance, as torch.nn.LayerNorm). `y` may
// equal `x` (in place). Rows are `ld` floats apart in both x and y.
void LayerNorm(const float* x, int rows, int cols, int ld, const float* gamma,
               const float* beta, float eps, float* y);
void LayerNorm_ref(const float* x, int rows, int cols, int ld,
                   const float* gamma, const float* beta, float eps, float* y);
void LayerNorm_avx2(const float* x, int rows, int cols, int ld,
                    const float* gamma, const float* beta, float eps, float* y);

// In place: x[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))) (exact GELU, as
// torch.nn.functional.gelu with approximate='none').
void GeluErf(float* x, long n);
void GeluErf_ref(float* x, long n);
void GeluErf_avx2(float* x, long n);

// In place: x[i] = tanh(x[i]).
void Tanh(float* x, long n);
void Tanh_ref(float* x, long n);
void Tanh_avx2(float* x, long n);

// In place softmax of each of `rows` rows of `cols` floats, `ld` apart.
void SoftmaxRows(float* x, int rows, int cols, int ld);
void SoftmaxRows_ref(float* x, int rows, int cols, int ld);
void SoftmaxRows_avx2(float* x, int rows, int cols, int ld);

// One attention head of one sequence:
//   probs[i][j] = softmax_j(scale * dot(q_i, k_j))   (n_q x n_k, row stride
//   n_k) ctx_i       = sum_j probs[i][j] * v_j             (n_q x dh, row
//   stride ld_ctx)
// q, k, v point at the head's first element; their rows are `ld_qkv` floats
// apart (so a packed [tokens, hidden] matrix can be addressed per head).
// `probs` is caller scratch of n_q * n_k floats and holds the probabilities on
// return (for token-significance accounting). The AVX2 version packs K^T once
// per call and computes Q K^T and P V as register-blocked micro-GEMMs (6 query
// rows x 16 columns per tile).
void AttentionHead(const float* q, const float* k, const float* v, int ld_qkv,
                   int n_q, int n_k, int dh, float scale, float* probs,
                   float* ctx, int ld_ctx);
void AttentionHead_ref(const float* q, const float* k, const float* v,
                       int ld_qkv, int n_q, int n_k, int dh, float scale,
                       float* probs, float* ctx, int ld_ctx);
void AttentionHead_avx2(const float* q, const float* k, const float* v,
                        int ld_qkv, int n_q, int n_k, int dh, float scale,
                        float* probs, float* ctx, int ld_ctx);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_FP32_KERNELS_H_
