// Fused feed-forward pair on 4x1 sparse int8 weights (AVX2, AVX-512 VNNI):
//
//   h    = GELU(float(x * W1^T) * (act_scale[m] * w1_scale[n]) + b1[n])
//   hq   = per-token symmetric s8 codes of h, scale hs[m]   (QuantizeRows-
//          Symmetric on h's rows)
//   out  = ep2 applied to hq * W2^T with activation scales hs
//
// per 16-token (AVX2) or 64-token (VNNI) tile, so the intermediate
// activations (N1 per token, e.g. 1024) never leave the tile's scratch: the
// W1 kernel's channel-major accumulators go through dequantization, bias
// and GELU in registers, each token's max |h| is kept in registers, and the
// codes are written straight into the W2 kernel's transposed activation
// layout. Against the unfused
// path (SparseGemm(w1, ep1 with kDynamicSymmetric requant) then
// SparseGemm(w2, codes, ep2)) this saves the W1 tile's int32 store and
// reload, its token-major transposition, the fp32 row pass of the
// quantization and W2's activation transposition.
//
// Bit-identical to that unfused path on the same ISA: every element goes
// through the same IEEE operations in the same order (act_scale * w1_scale,
// times float(acc), plus bias, the AVX2 GELU; max is exact in any order;
// code = rne(h * (127 / max)), 0 codes and scale 1 for an all-zero row).
//
// Only for 4x1 weights, on the AVX2 kernels (16-token tiles) and the
// AVX-512 VNNI kernels (64-token tiles; a last tile of <= 32 tokens runs the
// two layers unfused, on the narrower VNNI tiles). SparseFfnFusable says
// where.
//
// Thread-safety: reentrant; thread-local scratch (one call per thread).
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_FFN_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_FFN_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/kernels/epilogue.h"
#include "engine/kernels/int8_types.h"
#include "engine/kernels/sparse_format.h"

namespace fastrel {

// Whether SparseFfn runs for this pair on `isa`: both 4x1, w1.n() ==
// w2.k(), and `isa` is available and resolves to kAvx2 or kAvx512Vnni.
bool SparseFfnFusable(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                      KernelIsa isa = KernelIsa::kAuto);

// x: [m x w1.k()] s8 codes (row stride ldx). ep1 describes the first layer's
// epilogue: act_scale (per token, [m]) and weight_scale are required, bias
// and gelu optional; its zero points, residual, out and requant fields must
// be unset (the pair always requantizes per token, internally). ep2 is the
// second layer's full epilogue as SparseGemm takes it, except act_scale and
// act_zero_point, which must be unset (the scales come from the first
// layer's requantization). Errors: InvalidArgument for bad shapes, pointers
// or epilogue fields, or a pair that is not SparseFfnFusable.
absl::Status SparseFfn(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                       const int8_t* x, int m, int64_t ldx, const Epilogue& ep1,
                       const Epilogue& ep2, KernelIsa isa = KernelIsa::kAuto);

namespace internal {
// First half of one tile: tokens [0, mt) (mt <= 16) of x through W1 and the
// ep1 part of the epilogue (act_scale: mt values), quantized per token into
// xt2 (the AVX2 4x1 scratch layout, w1.n() rows of 32 bytes, s8 codes + 128)
// and scale_out[0, mt). No argument checks.
void SparseFfnFirstTileAvx2(const PackedSparseInt8& w1, const int8_t* x,
                            int64_t ldx, int mt, const Epilogue& ep1,
                            uint8_t* xt2, float* scale_out);
// The same at 64 tokens (mt <= 64) for the VNNI kernels: xq2 in the VNNI
// 4x1 layout (sparse_vnni_core.h: w1.n() rows of 64 bytes, s8 codes + 128).
// Needs IsaAvailable(kAvx512Vnni).
void SparseFfnFirstTileVnni64(const PackedSparseInt8& w1, const int8_t* x,
                              int64_t ldx, int mt, const Epilogue& ep1,
                              uint8_t* xq2, float* scale_out);
}  // namespace internal

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_FFN_H_
