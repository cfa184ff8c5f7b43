#include "engine/compile/dense_linalg.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/strings/str_format.h"

namespace fastrel::compile {
namespace {

// GEMM blocking: a kMr x kNr register tile, kKc-deep rank updates, and a
// packed kKc x kNc panel of op(B) (256 KiB: stays in L2).
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 8;
constexpr int64_t kKc = 256;
constexpr int64_t kNc = 128;

// Block size of the blocked Cholesky and triangular inverse.
constexpr int64_t kNb = 64;

// GCC vector extension: 4 doubles. In the AVX2 clone this is one ymm
// register; in the portable clone the compiler splits it into SSE2 halves.
// Never passed by value across a call (that would change the ABI).
typedef double V4 __attribute__((vector_size(32)));

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }

// c[mr x nr] += A[mr rows of kc] * panel[kc x kNr]. `a` holds kMr row
// pointers (rows past mr repeat a valid row; their results are discarded).
__attribute__((always_inline)) inline void MicroKernel(int64_t kc,
                                                       const double* const* a,
                                                       const double* panel,
                                                       double* c, int64_t ldc,
                                                       int64_t mr, int64_t nr) {
  V4 c00 = {0, 0, 0, 0}, c01 = c00, c10 = c00, c11 = c00;
  V4 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const double* a0 = a[0];
  const double* a1 = a[1];
  const double* a2 = a[2];
  const double* a3 = a[3];
  for (int64_t p = 0; p < kc; ++p) {
    V4 b0, b1;
    std::memcpy(&b0, panel, sizeof(b0));
    std::memcpy(&b1, panel + 4, sizeof(b1));
    panel += kNr;
    c00 += a0[p] * b0;
    c01 += a0[p] * b1;
    c10 += a1[p] * b0;
    c11 += a1[p] * b1;
    c20 += a2[p] * b0;
    c21 += a2[p] * b1;
    c30 += a3[p] * b0;
    c31 += a3[p] * b1;
  }
  double out[kMr][kNr];
  std::memcpy(&out[0][0], &c00, sizeof(c00));
  std::memcpy(&out[0][4], &c01, sizeof(c01));
  std::memcpy(&out[1][0], &c10, sizeof(c10));
  std::memcpy(&out[1][4], &c11, sizeof(c11));
  std::memcpy(&out[2][0], &c20, sizeof(c20));
  std::memcpy(&out[2][4], &c21, sizeof(c21));
  std::memcpy(&out[3][0], &c30, sizeof(c30));
  std::memcpy(&out[3][4], &c31, sizeof(c31));
  for (int64_t r = 0; r < mr; ++r) {
    double* crow = c + r * ldc;
    for (int64_t j = 0; j < nr; ++j) crow[j] += out[r][j];
  }
}

// The whole blocked GEMM; inlined into a portable and an AVX2+FMA clone.
__attribute__((always_inline)) inline void GemmBody(
    bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
    const double* a, int64_t lda, const double* b, int64_t ldb, double* c,
    int64_t ldc, double* panel) {
  for (int64_t j0 = 0; j0 < n; j0 += kNc) {
    const int64_t nc = Min(kNc, n - j0);
    const int64_t tiles = (nc + kNr - 1) / kNr;
    for (int64_t p0 = 0; p0 < k; p0 += kKc) {
      const int64_t kc = Min(kKc, k - p0);
      // Pack alpha * op(B)[p0:p0+kc, j0:j0+nc], tile by tile, zero-padded.
      for (int64_t t = 0; t < tiles; ++t) {
        double* dst = panel + t * kc * kNr;
        for (int64_t jj = 0; jj < kNr; ++jj) {
          const int64_t j = j0 + t * kNr + jj;
          if (j >= n) {
            for (int64_t p = 0; p < kc; ++p) dst[p * kNr + jj] = 0.0;
          } else if (trans_b) {
            const double* src = b + j * ldb + p0;
            for (int64_t p = 0; p < kc; ++p) dst[p * kNr + jj] = alpha * src[p];
          } else {
            const double* src = b + p0 * ldb + j;
            for (int64_t p = 0; p < kc; ++p) {
              dst[p * kNr + jj] = alpha * src[p * ldb];
            }
          }
        }
      }
      for (int64_t i0 = 0; i0 < m; i0 += kMr) {
        const int64_t mr = Min(kMr, m - i0);
        const double* rows[kMr];
        for (int64_t r = 0; r < kMr; ++r) {
          rows[r] = a + (i0 + Min(r, mr - 1)) * lda + p0;
        }
        for (int64_t t = 0; t < tiles; ++t) {
          MicroKernel(kc, rows, panel + t * kc * kNr,
                      c + i0 * ldc + j0 + t * kNr, ldc, mr,
                      Min(kNr, nc - t * kNr));
        }
      }
    }
  }
}

__attribute__((target("avx2,fma"))) void GemmAvx2(bool trans_b, int64_t m,
                                                  int64_t n, int64_t k,
                                                  double alpha, const double* a,
                                                  int64_t lda, const double* b,
                                                  int64_t ldb, double* c,
                                                  int64_t ldc, double* panel) {
  GemmBody(trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, panel);
}

void GemmPortable(bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double* a, int64_t lda, const double* b, int64_t ldb,
                  double* c, int64_t ldc, double* panel) {
  GemmBody(trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, panel);
}

bool HaveAvx2Fma() {
  static const bool have = [] {
    // Same convention as engine/kernels/cpu_features.h: FASTREL_CPU_MAX=scalar
    // forces the portable path (so it can be tested on an AVX2 machine).
    const char* cap = std::getenv("FASTREL_CPU_MAX");
    if (cap != nullptr && std::string_view(cap) == "scalar") return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return have;
}

// Unblocked in-place inverse of the lower-triangular b x b block at `l`
// (leading dimension ld) into `x` (leading dimension b, strict upper = 0).
void InvertLowerSmall(int64_t b, const double* l, int64_t ld, double* x) {
  std::fill(x, x + b * b, 0.0);
  for (int64_t j = 0; j < b; ++j) {
    x[j * b + j] = 1.0 / l[j * ld + j];
    for (int64_t i = j + 1; i < b; ++i) {
      double s = 0.0;
      for (int64_t t = j; t < i; ++t) s += l[i * ld + t] * x[t * b + j];
      x[i * b + j] = -s / l[i * ld + i];
    }
  }
}

}  // namespace

void Gemm(bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double* c,
          int64_t ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  std::vector<double> panel(static_cast<size_t>(kKc * kNc));
  if (HaveAvx2Fma()) {
    GemmAvx2(trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, panel.data());
  } else {
    GemmPortable(trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc, panel.data());
  }
}

absl::Status CholeskyLower(int64_t n, double* a) {
  // Left-looking blocked Cholesky: per block column, one GEMM with all the
  // columns to its left, an unblocked factorization of the diagonal block,
  // and a triangular solve of the panel below it.
  const double pivot_tol =
      static_cast<double>(n) * std::numeric_limits<double>::epsilon();
  for (int64_t p = 0; p < n; p += kNb) {
    const int64_t b = Min(kNb, n - p);
    double* diag = a + p * n + p;
    if (p > 0) {
      Gemm(/*trans_b=*/true, n - p, b, p, -1.0, a + p * n, n, a + p * n, n,
           diag, n);
    }
    for (int64_t j = 0; j < b; ++j) {
      double* row_j = diag + j * n;
      const double original = row_j[j];
      double d = original;
      for (int64_t t = 0; t < j; ++t) d -= row_j[t] * row_j[t];
      // A pivot at the rounding-noise level of the Schur complement
      // (n * eps * the original diagonal) means "numerically singular".
      if (!(d > pivot_tol * original) || !std::isfinite(d)) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "matrix is not positive definite (pivot %d of %d is %g)", p + j, n,
            d));
      }
      const double ljj = std::sqrt(d);
      row_j[j] = ljj;
      for (int64_t i = j + 1; i < b; ++i) {
        double* row_i = diag + i * n;
        double s = row_i[j];
        for (int64_t t = 0; t < j; ++t) s -= row_i[t] * row_j[t];
        row_i[j] = s / ljj;
      }
    }
    for (int64_t r = p + b; r < n; ++r) {
      double* row_r = a + r * n + p;
      for (int64_t j = 0; j < b; ++j) {
        const double* row_j = diag + j * n;
        double s = row_r[j];
        for (int64_t t = 0; t < j; ++t) s -= row_r[t] * row_j[t];
        row_r[j] = s / row_j[j];
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    std::fill(a + i * n + i + 1, a + (i + 1) * n, 0.0);
  }
  return absl::OkStatus();
}

void InvertLower(int64_t n, double* l) {
  for (int64_t i = 0; i < n; ++i) {
    std::fill(l + i * n + i + 1, l + (i + 1) * n, 0.0);
  }
  // Block row by block row, in place: with X = L^{-1} known for the leading
  // i0 rows, X[I, 0:i0] = -L_II^{-1} (L[I, 0:i0] X[0:i0, 0:i0]). The product
  // skips the zero upper blocks of X (n^3/3 flops in all).
  std::vector<double> t;
  std::vector<double> x_ii(static_cast<size_t>(kNb * kNb));
  for (int64_t i0 = 0; i0 < n; i0 += kNb) {
    const int64_t b = Min(kNb, n - i0);
    InvertLowerSmall(b, l + i0 * n + i0, n, x_ii.data());
    if (i0 > 0) {
      t.assign(static_cast<size_t>(b * i0), 0.0);
      for (int64_t j0 = 0; j0 < i0; j0 += kNb) {
        const int64_t bj = Min(kNb, i0 - j0);
        Gemm(/*trans_b=*/false, b, bj, i0 - j0, 1.0, l + i0 * n + j0, n,
             l + j0 * n + j0, n, t.data() + j0, i0);
      }
      for (int64_t r = 0; r < b; ++r) {
        std::fill(l + (i0 + r) * n, l + (i0 + r) * n + i0, 0.0);
      }
      Gemm(/*trans_b=*/false, b, i0, b, -1.0, x_ii.data(), b, t.data(), i0,
           l + i0 * n, n);
    }
    for (int64_t r = 0; r < b; ++r) {
      std::copy(x_ii.data() + r * b, x_ii.data() + r * b + b,
                l + (i0 + r) * n + i0);
    }
  }
}

absl::StatusOr<std::vector<double>> UpperCholeskyOfInverse(
    int64_t n, std::vector<double> h) {
  if (n < 0 || h.size() != static_cast<size_t>(n * n)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "UpperCholeskyOfInverse: matrix has %d elements, expected %d x %d",
        h.size(), n, n));
  }
  std::reverse(h.begin(), h.end());  // P H P
  if (absl::Status s = CholeskyLower(n, h.data()); !s.ok()) return s;
  InvertLower(n, h.data());
  std::reverse(h.begin(), h.end());  // U = P L^{-1} P
  return h;
}

}  // namespace fastrel::compile
