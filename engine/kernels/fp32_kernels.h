// fp32 element-wise and attention kernels used by the encoder: LayerNorm,
// erf-GELU, tanh, row softmax and single-head attention. Each kernel has a
// scalar *_ref twin (always compiled, the numerical reference) and an AVX2
// version; the plain name dispatches by GetCpuFeatures() at run time.
//
// All pointers are caller-owned; no kernel allocates, except that the AVX2
// attention kernels keep grow-only thread-local scratch (packed K^T and
// scores; they stop allocating once a thread has seen its largest head) and
// AttentionHead_ref allocates a probability row when `probs` is null. Rows are
// contiguous with the stated leading dimension (in floats).
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

// In place softmax of each of `rows` rows of `cols` floats, `ld` apart (the
// reference the fp32 attention references build on; the SIMD attention
// kernels fuse their softmax).
void SoftmaxRows_ref(float* x, int rows, int cols, int ld);

// One attention head of one sequence:
//   probs[i][j] = softmax_j(scale * dot(q_i, k_j))   (n_q x n_k)
//   ctx_i       = sum_j probs[i][j] * v_j             (n_q x dh, rows ld_ctx
//                                                      apart)
// q, k, v point at the head's first element; their rows are `ld_qkv` floats
// apart (so a packed [tokens, hidden] matrix can be addressed per head).
// `probs` (nullable) receives the probabilities, rows n_k apart; without it
// they are never written out (the AVX2 version keeps each 6-row tile in L1).
// `colsum` (nullable, n_k floats) accumulates the probabilities' column sums:
// colsum[j] += sum_i probs[i][j] (rows added in order, fp32), for
// token-significance accounting. The AVX2 version packs K^T once per call and
// computes Q K^T and P V as register-blocked micro-GEMMs (6 query rows x 16
// columns per tile; keys padded to a multiple of 8 only).
void AttentionHead(const float* q, const float* k, const float* v, int ld_qkv,
                   int n_q, int n_k, int dh, float scale, float* probs,
                   float* colsum, float* ctx, int ld_ctx);
void AttentionHead_ref(const float* q, const float* k, const float* v,
                       int ld_qkv, int n_q, int n_k, int dh, float scale,
                       float* probs, float* colsum, float* ctx, int ld_ctx);
void AttentionHead_avx2(const float* q, const float* k, const float* v,
                        int ld_qkv, int n_q, int n_k, int dh, float scale,
                        float* probs, float* colsum, float* ctx, int ld_ctx);

// The first half of AttentionHead: probabilities only.
//   probs[i][j] = softmax_j(scale * dot(q_i, k_j)) for i < n_q, j < n_k,
// rows `ld_probs` (>= n_k) floats apart; colsum as in AttentionHead.
void AttentionProbs(const float* q, const float* k, int ld_qk, int n_q, int n_k,
                    int dh, float scale, float* probs, int ld_probs,
                    float* colsum);
void AttentionProbs_ref(const float* q, const float* k, int ld_qk, int n_q,
                        int n_k, int dh, float scale, float* probs,
                        int ld_probs, float* colsum);
void AttentionProbs_avx2(const float* q, const float* k, int ld_qk, int n_q,
                         int n_k, int dh, float scale, float* probs,
                         int ld_probs, float* colsum);

// The second half, for selected query rows (token dropping computes the
// context of the kept rows only):
//   ctx[r][0..dh) = sum_j probs[rows[r]][j] * v[j][0..dh)   for r < n_rows,
// probs rows `ld_probs` apart, v rows `ld_v` apart, ctx rows `ld_ctx` apart;
// rows == nullptr selects rows 0..n_rows-1.
void AttentionContext(const float* probs, int ld_probs, const int* rows,
                      int n_rows, int n_k, const float* v, int ld_v, int dh,
                      float* ctx, int ld_ctx);
void AttentionContext_ref(const float* probs, int ld_probs, const int* rows,
                          int n_rows, int n_k, const float* v, int ld_v, int dh,
                          float* ctx, int ld_ctx);
void AttentionContext_avx2(const float* probs, int ld_probs, const int* rows,
                           int n_rows, int n_k, const float* v, int ld_v,
                           int dh, float* ctx, int ld_ctx);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_FP32_KERNELS_H_
