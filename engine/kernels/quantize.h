// Activation quantization: fp32 [M x K] row-major -> int8 / uint8.
//
// Numeric schemes (all inputs must be finite; NaN/Inf give unspecified codes
// but never out-of-bounds memory access):
//
//  * Dynamic per-token symmetric (s8), one scale per row:
//      amax     = max_k |x[m][k]|
//      scale[m] = amax / 127            (1.0 when amax == 0, all codes 0)
//      q[m][k]  = clamp(rne(x[m][k] * (127 / amax)), -127, 127)
//    Dequantize: x ~= scale[m] * q. The code -128 is never produced, so the
//    s8 x s8 kernels can use |q| <= 127 (see sparse_gemm.h).
//  * Dynamic per-token asymmetric (u8), a scale and zero point per row:
//      lo = min(0, min_k x), hi = max(0, max_k x)   (0 is always exact)
//      scale[m] = (hi - lo) / 255       (1.0 when hi == lo, all codes = zp)
//      zp[m]    = clamp(rne(-lo * (255 / (hi - lo))), 0, 255)
//      q[m][k]  = clamp(rne(x[m][k] * (255 / (hi - lo))) + zp[m], 0, 255)
//    Dequantize: x ~= scale[m] * (q - zp[m]).
//  * Static per-tensor symmetric (s8) with a given scale > 0 (calibrated
//    offline):  q = clamp(rne(x * (1 / scale)), -127, 127).
//
// rne = round to nearest, ties to even (the default MXCSR / fenv mode; the
// reference uses std::nearbyint, AVX2 uses _mm256_round_ps or cvtps). The clamp
// is applied in float before the conversion, so huge inputs saturate. The
// reference and AVX2 paths do the same float operations in the same order and
// produce bit-identical codes and scales (tested).
//
// Thread-safety: all functions are pure (no shared state).
#ifndef FASTREL_ENGINE_KERNELS_QUANTIZE_H_
#define FASTREL_ENGINE_KERNELS_QUANTIZE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/kernels/int8_types.h"

namespace fastrel {

// Dynamic per-token symmetric quantization of x [m x k] (row stride ldx
// floats) into q [m x k] (row stride ldq bytes) and scale[m].
// Requires m >= 0, k >= 1, ldx >= k, ldq >= k, non-null pointers when m > 0.
absl::Status QuantizeRowsSymmetric(const float* x, int m, int k, int ldx,
                                   int8_t* q, int ldq, float* scale,
                                   KernelIsa isa = KernelIsa::kAuto);

// Dynamic per-token asymmetric quantization into u8 codes, scale[m] and
// zero_point[m] (in [0, 255]). Same shape rules as above.
absl::Status QuantizeRowsAsymmetric(const float* x, int m, int k, int ldx,
                                    uint8_t* q, int ldq, float* scale,
                                    int32_t* zero_point,
                                    KernelIsa isa = KernelIsa::kAuto);

// Static per-tensor symmetric quantization with the given scale (> 0 and
// finite). Same shape rules as above.
absl::Status QuantizeStatic(const float* x, int m, int k, int ldx, float scale,
                            int8_t* q, int ldq,
                            KernelIsa isa = KernelIsa::kAuto);

namespace internal {
// Row kernels (no argument checks). Each handles one row of k values.
float QuantizeRowSymmetricRef(const float* x, int k, int8_t* q);
float QuantizeRowSymmetricAvx2(const float* x, int k, int8_t* q);
float QuantizeRowAsymmetricRef(const float* x, int k, uint8_t* q, int32_t* zp);
float QuantizeRowAsymmetricAvx2(const float* x, int k, uint8_t* q, int32_t* zp);
void QuantizeRowStaticRef(const float* x, int k, float inv_scale, int8_t* q);
void QuantizeRowStaticAvx2(const float* x, int k, float inv_scale, int8_t* q);
// The second pass of the dynamic symmetric quantizer: inv = 127 / max|x| of
// the row (so |x * inv| <= 127 up to rounding; no clamp needed). Same codes
// as QuantizeRowStatic{Ref,Avx2}(x, k, inv, q); used by the fused epilogue,
// which gathers max|x| while it writes the row.
void QuantizeRowWithMaxAvx2(const float* x, int k, float inv, int8_t* q);
// AVX-512 twins (need IsaAvailable(kAvx512Vnni)); bit-identical to the AVX2
// rows. QuantizeRowsSymmetric picks them for kAvx512Vnni (and kAuto on such
// a CPU).
float QuantizeRowSymmetricAvx512(const float* x, int k, int8_t* q);
void QuantizeRowWithMaxAvx512(const float* x, int k, float inv, int8_t* q);
}  // namespace internal

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_QUANTIZE_H_
