// Dense double-precision linear algebra used by the compressor: a blocked
// GEMM, a blocked Cholesky factorization and the upper Cholesky factor of a
// matrix inverse (the "Hinv" of SparseGPT / OBC). Only runs at compile time,
// but must handle BERT-sized layers (K = 3072) in seconds on one core.
//
// All matrices are row-major with an explicit leading dimension (the distance
// in elements between consecutive rows). Everything is double: the Hessians
// of real layers are badly conditioned (condition numbers of 1e6 and more
// after 1% damping are common), and fp32 Cholesky factors of such matrices
// lose most of their significant digits.
//
// Ownership: pointers are borrowed for the duration of a call (CholeskyLower
// and InvertLower overwrite theirs); UpperCholeskyOfInverse owns its input.
// Thread-safety: all functions are reentrant; they share no state.
#ifndef FASTREL_ENGINE_COMPILE_DENSE_LINALG_H_
#define FASTREL_ENGINE_COMPILE_DENSE_LINALG_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fastrel::compile {

// C[m x n] += alpha * A[m x k] * op(B), where op(B) is B (a k x n matrix) when
// trans_b is false, and B^T (B stored as an n x k matrix) when trans_b is
// true. C must not overlap A or B. Sizes may be zero (then nothing happens).
// Uses an AVX2+FMA micro-kernel when the CPU has it (checked once, at run
// time), else a portable one; the environment variable FASTREL_CPU_MAX=scalar
// forces the portable one (as for engine/kernels).
void Gemm(bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double* c,
          int64_t ldc);

// In-place lower Cholesky factorization A = L L^T of the symmetric positive
// definite n x n matrix `a` (row-major, leading dimension n). Only the lower
// triangle (including the diagonal) is read; on success it holds L and the
// strict upper triangle is set to zero. Returns FAILED_PRECONDITION (and leaves
// `a` in an unspecified state) when a pivot is not finite or not above
// n * DBL_EPSILON times its original diagonal entry (the rounding noise of the
// elimination), i.e. the matrix is not numerically positive definite.
absl::Status CholeskyLower(int64_t n, double* a);

// In-place inverse of the non-singular lower-triangular n x n matrix `l`
// (row-major, leading dimension n). The strict upper triangle is ignored and
// set to zero. Precondition: the diagonal is non-zero (true for a factor
// produced by CholeskyLower).
void InvertLower(int64_t n, double* l);

// Given a symmetric positive definite n x n matrix H (row-major), computes the
// upper-triangular U with H^{-1} = U^T U, i.e. the upper Cholesky factor of
// the inverse, which is what the SparseGPT / OBC column sweep needs
// ([H^{-1}] restricted to the not-yet-processed columns, Schur complements
// included, is read off its rows). Done without forming H^{-1}:
// with P the index-reversal permutation, P H P = L L^T (lower Cholesky), and
// U = P L^{-1} P is upper triangular with U^T U = P (L L^T)^{-1} P = H^{-1}.
// Cost: n^3/3 + n^3/3 flops (one Cholesky, one triangular inverse) instead of
// the n^3 + n^3/3 of "invert, then factor". Reversing both indices of a
// row-major square matrix is reversing its flat storage.
// Returns FAILED_PRECONDITION when H is not numerically positive definite.
absl::StatusOr<std::vector<double>> UpperCholeskyOfInverse(
    int64_t n, std::vector<double> h);

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_DENSE_LINALG_H_
