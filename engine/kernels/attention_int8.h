// Kernels of the int8 attention (AttentionPrecision::kInt8,
// engine/runtime/attention_block.h): the two attention matrix products with
// exact int32 accumulation, the u8 quantization of a probability row and the
// fp32 glue around them.
//
//   Int8QKt:  s[i][j] = sum_d q[i][d] * k[j][d]       (q, k: s8 codes)
//   Int8PV:   c[r][d] = sum_j p[r][j] * v[j][d]       (p: u8, v: s8 codes)
//
// Codes must lie in [-127, 127] for s8 (what QuantizeRowsSymmetric produces)
// and [0, 255] for u8; the sums are exact in int32 for any dh / n_k <= 2^15.
// Every entry point has a scalar *_ref twin (always compiled) and an AVX2
// version (products: s8/u8 widened to s16, vpmaddwd: exact); the products
// also have an AVX-512 VNNI version (vpdpbusd on u8 x s8 quads; Q.K^T runs on
// q + 128 with a per-key -128 * sum(k) correction: exact) and the float
// helpers an AVX-512 one. The plain name dispatches with
// ResolveIsa(KernelIsa::kAuto), resolved once (cpu_features.h;
// FASTREL_CPU_MAX caps it). All versions return bit-identical results
// (integers; the float helpers do the same float operations in the same
// order, without FMA contraction), except ScoresToProbs, whose reference uses
// std::exp (its AVX2 and AVX-512 versions are bit-identical to each other).
//
// All pointers are caller-owned. The SIMD versions pack their operands into
// grow-only thread-local scratch (they stop allocating once a thread has seen
// its largest shape); the _ref versions do not allocate.
// Thread safety: all functions are reentrant.
#ifndef FASTREL_ENGINE_KERNELS_ATTENTION_INT8_H_
#define FASTREL_ENGINE_KERNELS_ATTENTION_INT8_H_

#include <cstdint>

namespace fastrel {

// s[i][j] = sum_{d < dh} q[i][d] * k[j][d] for i < n_q, j < n_k (int32,
// exact). Rows of q are ld_q bytes apart, rows of k ld_k bytes, rows of s
// ld_s (>= n_k) int32 apart. Requires n_q, n_k, dh >= 1.
void Int8QKt(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
             int n_k, int dh, int32_t* s, int ld_s);
void Int8QKt_ref(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                 int n_k, int dh, int32_t* s, int ld_s);
void Int8QKt_avx2(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                  int n_k, int dh, int32_t* s, int ld_s);
// Only where IsaAvailable(KernelIsa::kAvx512Vnni).
void Int8QKt_vnni(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                  int n_k, int dh, int32_t* s, int ld_s);

// c[r][d] = sum_{j < n_k} p[r][j] * v[j][d] for r < n_rows, d < dh (int32,
// exact). Rows of p are ld_p bytes apart, rows of v ld_v bytes, rows of c
// ld_c (>= dh) int32 apart. Requires n_rows, n_k, dh >= 1.
void Int8PV(const uint8_t* p, int ld_p, int n_rows, int n_k, const int8_t* v,
            int ld_v, int dh, int32_t* c, int ld_c);
void Int8PV_ref(const uint8_t* p, int ld_p, int n_rows, int n_k,
                const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c);
void Int8PV_avx2(const uint8_t* p, int ld_p, int n_rows, int n_k,
                 const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c);
// Only where IsaAvailable(KernelIsa::kAvx512Vnni).
void Int8PV_vnni(const uint8_t* p, int ld_p, int n_rows, int n_k,
                 const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c);

// Quantizes one row of n >= 1 non-negative finite weights w[j] = p[j] *
// mul[j] (mul may be null: w = p; e.g. probabilities times V scales) to u8
// with one scale:
//   m = max_j w[j]; if m == 0: codes 0, returns 1;
//   inv = 255 / m; code[j] = rne(min(w[j] * inv, 255));
//   returns m / 255 (w[j] ~= code[j] * returned scale).
float QuantizeWeightsU8(const float* p, const float* mul, int n, uint8_t* code);
float QuantizeWeightsU8_ref(const float* p, const float* mul, int n,
                            uint8_t* code);
float QuantizeWeightsU8_avx2(const float* p, const float* mul, int n,
                             uint8_t* code);
float QuantizeWeightsU8_avx512(const float* p, const float* mul, int n,
                               uint8_t* code);

// Probabilities of `rows` query rows from their int32 scores, in one pass
// per row over its (L1-resident) values:
//   f[i][j] = ((scale * q_scale[i]) * k_scale[j]) * float(acc[i][j]),
//   probs[i][j] = e[i][j] * (1 / sum_j e[i][j]),
//     e[i][j] = exp(f[i][j] - max_j f[i][j]),
//   colsum[j] += probs[i][j] for i = 0, 1, .. rows-1 in that order (fp32;
//     colsum nullable: no significance wanted),
// for j < n. Rows of acc are ld_acc int32 apart, rows of probs ld_probs
// floats apart. Requires rows >= 0, n >= 1. The reference uses std::exp and a
// sequential sum; the SIMD versions a polynomial exp (~2 ulp) and 16 partial
// sums (lane j % 16, reduced pairwise), identical in the AVX2 and AVX-512
// versions, so the two ISAs give bit-identical probabilities.
void ScoresToProbs(const int32_t* acc, int ld_acc, int rows, int n, float scale,
                   const float* q_scale, const float* k_scale, float* probs,
                   int ld_probs, float* colsum);
void ScoresToProbs_ref(const int32_t* acc, int ld_acc, int rows, int n,
                       float scale, const float* q_scale, const float* k_scale,
                       float* probs, int ld_probs, float* colsum);
void ScoresToProbs_avx2(const int32_t* acc, int ld_acc, int rows, int n,
                        float scale, const float* q_scale, const float* k_scale,
                        float* probs, int ld_probs, float* colsum);
// Every *_avx512 function here: only where
// IsaAvailable(KernelIsa::kAvx512Vnni).
void ScoresToProbs_avx512(const int32_t* acc, int ld_acc, int rows, int n,
                          float scale, const float* q_scale,
                          const float* k_scale, float* probs, int ld_probs,
                          float* colsum);

// out[r][d] = s[r] * float(acc[r][d]) for r < rows, d < n; rows of acc are
// ld_acc int32 apart, rows of out ld_out floats apart.
void ScaleInt32Rows(const int32_t* acc, int ld_acc, int rows, int n,
                    const float* s, float* out, int ld_out);
void ScaleInt32Rows_ref(const int32_t* acc, int ld_acc, int rows, int n,
                        const float* s, float* out, int ld_out);
void ScaleInt32Rows_avx2(const int32_t* acc, int ld_acc, int rows, int n,
                         const float* s, float* out, int ld_out);
void ScaleInt32Rows_avx512(const int32_t* acc, int ld_acc, int rows, int n,
                           const float* s, float* out, int ld_out);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_ATTENTION_INT8_H_
