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
// q + 128 with a per-key -128 * sum(k) correction: exact). The plain name
// dispatches with ResolveIsa(KernelIsa::kAuto), resolved once
// (cpu_features.h; FASTREL_CPU_MAX caps it). All versions return
// bit-identical results (integers; the float helpers do the same float
// operations in the same order, without FMA contraction).
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

// Dequantized scores of one query row: out[j] = (a * mul[j]) * float(acc[j])
// for j < n (a = scale * the query's code scale, mul = the keys' scales).
void DequantizeScoresRow(const int32_t* acc, int n, float a, const float* mul,
                         float* out);
void DequantizeScoresRow_ref(const int32_t* acc, int n, float a,
                             const float* mul, float* out);
void DequantizeScoresRow_avx2(const int32_t* acc, int n, float a,
                              const float* mul, float* out);

// out[r][d] = s[r] * float(acc[r][d]) for r < rows, d < n; rows of acc are
// ld_acc int32 apart, rows of out ld_out floats apart.
void ScaleInt32Rows(const int32_t* acc, int ld_acc, int rows, int n,
                    const float* s, float* out, int ld_out);
void ScaleInt32Rows_ref(const int32_t* acc, int ld_acc, int rows, int n,
                        const float* s, float* out, int ld_out);
void ScaleInt32Rows_avx2(const int32_t* acc, int ld_acc, int rows, int n,
                         const float* s, float* out, int ld_out);

// colsum[j] += x[i][j] for i = 0, 1, .. rows-1 in that order (fp32), j < n;
// rows of x are ld floats apart.
void AddRowsTo(const float* x, int ld, int rows, int n, float* colsum);
void AddRowsTo_ref(const float* x, int ld, int rows, int n, float* colsum);
void AddRowsTo_avx2(const float* x, int ld, int rows, int n, float* colsum);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_ATTENTION_INT8_H_
