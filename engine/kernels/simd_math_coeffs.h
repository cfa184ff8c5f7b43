// Constants of the vectorised exp and erf (simd_math_avx2.h: 8 lanes,
// simd_math_avx512.h: 16 lanes). Both headers build their polynomials from
// these tables with the same operations in the same order, so their lanes are
// bit-identical (the AVX2 and AVX-512 kernels must score alike). Plain
// constants: safe to include from any translation unit.
#ifndef FASTREL_ENGINE_KERNELS_SIMD_MATH_COEFFS_H_
#define FASTREL_ENGINE_KERNELS_SIMD_MATH_COEFFS_H_

namespace fastrel::simd {

// exp(x) (Cephes): x clamped to [kExpMin, kExpMax]; n = rne(x * log2 e);
// r = x - n * ln2 (ln2 split in a high and a low part);
// exp(x) = (P(r) * r^2 + r + 1) * 2^n, P with kExpPoly, highest degree first.
inline constexpr float kExpMax = 88.3762626647949f;
inline constexpr float kExpMin = -87.3365447504f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpPoly[6] = {1.9875691500E-4f, 1.3981999507E-3f,
                                      8.3334519073E-3f, 4.1665795894E-2f,
                                      1.6666665459E-1f, 5.0000001201E-1f};

// erf(x) on [-kErfClamp, kErfClamp] (+-1 to fp32 precision outside):
// x * P(x^2) / Q(x^2), P with kErfP and Q with kErfQ, highest degree first;
// absolute error ~1e-7.
inline constexpr float kErfClamp = 4.0f;
inline constexpr float kErfP[7] = {
    -2.72614225801306e-10f, 2.77068142495902e-08f,  -2.10102402082508e-06f,
    -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,
    -1.60960333262415e-02f};
inline constexpr float kErfQ[5] = {
    -1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,
    -7.37332916720468e-03f, -1.42647390514189e-02f};

// GELU(x) = 0.5 x (1 + erf(x * kSqrtHalf)).
inline constexpr float kSqrtHalf = 0.70710678118654752f;

}  // namespace fastrel::simd

#endif  // FASTREL_ENGINE_KERNELS_SIMD_MATH_COEFFS_H_
