// Fused epilogue for the int8 GEMMs: int32 accumulators -> fp32 (and
// optionally int8 again for the next layer), applied per row tile right after
// the kernel produced it, while the tile is still in cache.
//
// For output element (m, n), with acc = sum_k a[m][k] * Wq[n][k] (exact int32):
//   c    = acc - zp[m] * col_sum[n]            (only with act_zero_point;
//                                               int32, wrap-free by bounds)
//   y    = float(c) * (act_scale[m] * weight_scale[n])
//   y    = y + bias[n]                          (if bias)
//   y    = 0.5f * y * (1 + erf(y / sqrt(2)))    (if gelu; exact erf, float)
//   y    = y + residual[m][n]                   (if residual)
//   out[m][n] = y
// then, if requant != kNone, out_q[m][:] = quantize(out[m][:]) with the
// schemes of quantize.h (dynamic per-row symmetric -> out_q_scale[m], or
// static with requant_scale). The codes and scales are bit-identical to
// QuantizeRowsSymmetric / QuantizeStatic (same ISA) on the fp32 rows: the
// dynamic row max |y| is gathered while the row is computed (max is exact in
// any order), then the row, still in L1, is quantized. With requant the fp32
// `out` is optional (null: rows go through a thread-local row buffer only).
// Every row is complete (all N columns) in one call, so per-row (per-token)
// dynamic requantization is exact whatever the GEMM's row tiling.
// Each float op is a separate IEEE operation (no FMA contraction), in this
// order, in the reference, the AVX2 and the AVX-512 path, so they are
// bit-identical except GELU: the reference calls std::erf, the SIMD paths a
// vectorized rational erf approximation (a few ulp; tested against the
// reference with a named tolerance; the AVX-512 GELU is bit-identical to the
// AVX2 one). Requantized codes after GELU may then differ by 1 from the
// reference's, never between the two SIMD paths.
#ifndef FASTREL_ENGINE_KERNELS_EPILOGUE_H_
#define FASTREL_ENGINE_KERNELS_EPILOGUE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/kernels/int8_types.h"

namespace fastrel {

// Describes which epilogue parts are on. Pointers are borrowed (the caller
// owns the buffers; they must outlive the GEMM call). A plain struct: copy
// freely; thread-compatible.
struct Epilogue {
  enum class Requant {
    kNone,              // fp32 output only
    kDynamicSymmetric,  // per-row scale, written to out_q_scale[m]
    kStatic,            // per-tensor scale requant_scale
  };

  // Required: per-token activation scales [M] (or one value when
  // act_scale_per_tensor, i.e. static activation quantization).
  const float* act_scale = nullptr;
  bool act_scale_per_tensor = false;
  // Optional: per-token zero points [M] of asymmetric u8 activations. Needs
  // weight_col_sum [N] (sum over k of Wq[n][k]; the packed weights provide it).
  const int32_t* act_zero_point = nullptr;
  const int32_t* weight_col_sum = nullptr;
  // Required: per-output-channel weight scales [N].
  const float* weight_scale = nullptr;
  // Optional: bias [N].
  const float* bias = nullptr;
  // Exact (erf) GELU after the bias.
  bool gelu = false;
  // Optional: residual [M x N] fp32 added last (row stride ld_residual).
  const float* residual = nullptr;
  int64_t ld_residual = 0;
  // Required unless requant != kNone: fp32 output [M x N] (row stride
  // ld_out >= N). May alias residual exactly (same pointer and stride) for an
  // in-place residual add.
  float* out = nullptr;
  int64_t ld_out = 0;
  // Optional requantization of `out` to int8 for the next layer.
  Requant requant = Requant::kNone;
  float requant_scale = 0.0f;  // kStatic: > 0
  int8_t* out_q = nullptr;     // [M x N], row stride ld_out_q
  int64_t ld_out_q = 0;
  float* out_q_scale = nullptr;  // kDynamicSymmetric: [M]
};

// Validates `ep` for an [m x n] output: required pointers, strides >= n,
// requant fields. Returns InvalidArgument with a clear message otherwise.
absl::Status CheckEpilogue(const Epilogue& ep, int m, int n);

// Applies `ep` to rows [m0, m0 + rows) of the output. `acc` holds those rows'
// int32 accumulators, row r at acc + r * ld_acc, n columns. No argument
// checks (call CheckEpilogue once per GEMM). isa: kRef, kAvx2 or kAvx512Vnni
// (the 512-bit rows; bit-identical to kAvx2), or kAuto; must be available.
void ApplyEpilogue(const Epilogue& ep, const int32_t* acc, int64_t ld_acc,
                   int m0, int rows, int n, KernelIsa isa);

namespace internal {
// Row m of the fp32 epilogue into out[0, n) (the caller picks ep.out's row or
// a scratch row). Returns max_j |out[j]| when want_amax (else 0).
float ApplyEpilogueRowRef(const Epilogue& ep, const int32_t* acc, int m, int n,
                          float* out, bool want_amax);
float ApplyEpilogueRowAvx2(const Epilogue& ep, const int32_t* acc, int m, int n,
                           float* out, bool want_amax);
// Needs AVX-512 F/DQ (IsaAvailable(kAvx512Vnni)); bit-identical to the AVX2
// row.
float ApplyEpilogueRowAvx512(const Epilogue& ep, const int32_t* acc, int m,
                             int n, float* out, bool want_amax);
}  // namespace internal

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_EPILOGUE_H_
