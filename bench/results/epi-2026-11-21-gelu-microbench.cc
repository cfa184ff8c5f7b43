// Throwaway microbenchmark behind bench/results/epi-2026-11-21.md (kept for
// reproducibility, not built by CMake). One fused epilogue row "bias + GELU +
// row max" over 16 rows x 1024 int32 accumulators (64 KiB, the AVX2 4x1
// tile of the FFN intermediate), min of 15 repetitions, ns per element:
//   variant 0: AVX2 Gelu8 as in simd_math_avx2.h (rational erf, vdivps)
//   variant 1: same with rcp + one Newton step instead of the division
//   variant 2: no GELU (dequantize + bias + max only: the floor)
//   variant 3: constants folded (x / sqrt2 and 0.5 into the coefficients)
//   variant 4: AVX-512 twin of variant 0 (as epilogue_avx512.cc)
//   variant 5: folded + rcp
// Then the max |error| vs double-precision GELU on [-10, 10] of two variants.
// Build: g++ -O2 -mavx2 -mfma -mavx512f -ffp-contract=off -I. \
//          bench/results/epi-2026-11-21-gelu-microbench.cc -o /tmp/gb
#include <immintrin.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/kernels/simd_math_avx2.h"
using namespace fastrel::simd;

static inline __m256 Erf8Rcp(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(4.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-4.0f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
  p = _mm256_mul_ps(p, x);
  __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
  __m256 r = _mm256_rcp_ps(q);
  r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, _mm256_set1_ps(2.0f)));
  return _mm256_mul_ps(p, r);
}
static inline __m256 GeluRcp(__m256 x) {
  const __m256 e =
      Erf8Rcp(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline __m512 Gelu16(__m512 x0) {
  __m512 x = _mm512_mul_ps(x0, _mm512_set1_ps(0.70710678118654752f));
  x = _mm512_min_ps(x, _mm512_set1_ps(4.0f));
  x = _mm512_max_ps(x, _mm512_set1_ps(-4.0f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(p, x);
  __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.42647390514189e-02f));
  __m512 e = _mm512_div_ps(p, q);
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x0),
                       _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}
// folded constants: gelu = x * (0.5 + u*P'(u2)/Q'(u2)), u = clamp(x, +-4sqrt2)
static inline __m256 GeluFold(__m256 x) {
  const float c = 0.70710678118654752f;
  __m256 u = _mm256_min_ps(x, _mm256_set1_ps(4.0f / c));
  u = _mm256_max_ps(u, _mm256_set1_ps(-4.0f / c));
  const __m256 u2 = _mm256_mul_ps(u, u);
  static const float PC[7] = {-1.505995060e-12f, 3.061199413e-10f,
                              -4.642651039e-08f, -2.515756171e-06f,
                              -6.496460735e-05f, -5.223043901e-04f,
                              -5.690807158e-03f};
  static const float QC[5] = {-9.103794904e-07f, -2.667175691e-05f,
                              -4.207067436e-04f, -3.686664584e-03f,
                              -1.426473905e-02f};
  auto pc = [&](int i) { return PC[i]; };
  auto qc = [&](int i) { return QC[i]; };
  __m256 p = _mm256_set1_ps(pc(0));
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, u2, _mm256_set1_ps(pc(i)));
  p = _mm256_mul_ps(p, u);
  __m256 q = _mm256_set1_ps(qc(0));
  for (int i = 1; i < 5; ++i) q = _mm256_fmadd_ps(q, u2, _mm256_set1_ps(qc(i)));
  return _mm256_mul_ps(
      x, _mm256_add_ps(_mm256_set1_ps(0.5f), _mm256_div_ps(p, q)));
}

static inline __m256 GeluFoldRcp(__m256 x) {
  const float c = 0.70710678118654752f;
  __m256 u = _mm256_min_ps(x, _mm256_set1_ps(4.0f / c));
  u = _mm256_max_ps(u, _mm256_set1_ps(-4.0f / c));
  const __m256 u2 = _mm256_mul_ps(u, u);
  static const float PC[7] = {-1.505995060e-12f, 3.061199413e-10f,
                              -4.642651039e-08f, -2.515756171e-06f,
                              -6.496460735e-05f, -5.223043901e-04f,
                              -5.690807158e-03f};
  static const float QC[5] = {-9.103794904e-07f, -2.667175691e-05f,
                              -4.207067436e-04f, -3.686664584e-03f,
                              -1.426473905e-02f};
  __m256 p = _mm256_set1_ps(PC[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, u2, _mm256_set1_ps(PC[i]));
  p = _mm256_mul_ps(p, u);
  __m256 q = _mm256_set1_ps(QC[0]);
  for (int i = 1; i < 5; ++i) q = _mm256_fmadd_ps(q, u2, _mm256_set1_ps(QC[i]));
  __m256 r = _mm256_rcp_ps(q);
  r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, _mm256_set1_ps(2.0f)));
  return _mm256_mul_ps(x, _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f)));
}

__attribute__((noinline)) float Row512(const int32_t* acc, const float* ws,
                                       const float* bias, float sa, int n,
                                       float* out) {
  const __m512 vsa = _mm512_set1_ps(sa);
  __m512 m0 = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) {
    __m512 s = _mm512_mul_ps(vsa, _mm512_loadu_ps(ws + j));
    __m512 y =
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(acc + j)), s);
    y = _mm512_add_ps(y, _mm512_loadu_ps(bias + j));
    y = Gelu16(y);
    _mm512_storeu_ps(out + j, y);
    m0 = _mm512_max_ps(m0, _mm512_abs_ps(y));
  }
  return _mm512_reduce_max_ps(m0);
}

template <int V>
__attribute__((noinline)) float Row(const int32_t* acc, const float* ws,
                                    const float* bias, float sa, int n,
                                    float* out) {
  const __m256 vsa = _mm256_set1_ps(sa);
  __m256 m0 = _mm256_setzero_ps(), m1 = m0;
  for (int j = 0; j < n; j += 16) {
    for (int u = 0; u < 2; ++u) {
      int jj = j + 8 * u;
      __m256 s = _mm256_mul_ps(vsa, _mm256_loadu_ps(ws + jj));
      __m256 y = _mm256_mul_ps(
          _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i*)(acc + jj))),
          s);
      y = _mm256_add_ps(y, _mm256_loadu_ps(bias + jj));
      if (V == 0) y = Gelu8(y);
      if (V == 1) y = GeluRcp(y);
      if (V == 3) y = GeluFold(y);
      if (V == 5) y = GeluFoldRcp(y);
      _mm256_storeu_ps(out + jj, y);
      __m256 a =
          _mm256_and_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
      if (u == 0)
        m0 = _mm256_max_ps(m0, a);
      else
        m1 = _mm256_max_ps(m1, a);
    }
  }
  __m256 m = _mm256_max_ps(m0, m1);
  float b[8];
  _mm256_storeu_ps(b, m);
  float r = 0;
  for (float v : b) r = std::max(r, v);
  return r;
}

template <int U>
static inline void GeluN(__m256* v) {
  __m256 x[U], x2[U], p[U], q[U];
  for (int i = 0; i < U; ++i) {
    x[i] = _mm256_mul_ps(v[i], _mm256_set1_ps(0.70710678118654752f));
    x[i] = _mm256_min_ps(x[i], _mm256_set1_ps(4.0f));
    x[i] = _mm256_max_ps(x[i], _mm256_set1_ps(-4.0f));
  }
  for (int i = 0; i < U; ++i) x2[i] = _mm256_mul_ps(x[i], x[i]);
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(_mm256_set1_ps(-2.72614225801306e-10f), x2[i],
                           _mm256_set1_ps(2.77068142495902e-08f));
  for (int i = 0; i < U; ++i)
    q[i] = _mm256_fmadd_ps(_mm256_set1_ps(-1.45660718464996e-05f), x2[i],
                           _mm256_set1_ps(-2.13374055278905e-04f));
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(p[i], x2[i], _mm256_set1_ps(-2.10102402082508e-06f));
  for (int i = 0; i < U; ++i)
    q[i] = _mm256_fmadd_ps(q[i], x2[i], _mm256_set1_ps(-1.68282697438203e-03f));
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(p[i], x2[i], _mm256_set1_ps(-5.69250639462346e-05f));
  for (int i = 0; i < U; ++i)
    q[i] = _mm256_fmadd_ps(q[i], x2[i], _mm256_set1_ps(-7.37332916720468e-03f));
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(p[i], x2[i], _mm256_set1_ps(-7.34990630326855e-04f));
  for (int i = 0; i < U; ++i)
    q[i] = _mm256_fmadd_ps(q[i], x2[i], _mm256_set1_ps(-1.42647390514189e-02f));
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(p[i], x2[i], _mm256_set1_ps(-2.95459980854025e-03f));
  for (int i = 0; i < U; ++i)
    p[i] = _mm256_fmadd_ps(p[i], x2[i], _mm256_set1_ps(-1.60960333262415e-02f));
  for (int i = 0; i < U; ++i) p[i] = _mm256_mul_ps(p[i], x[i]);
  for (int i = 0; i < U; ++i) {
    __m256 e = _mm256_div_ps(p[i], q[i]);
    v[i] = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v[i]),
                         _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  }
}
template <int U>
__attribute__((noinline)) float RowN(const int32_t* acc, const float* ws,
                                     const float* bias, float sa, int n,
                                     float* out) {
  const __m256 vsa = _mm256_set1_ps(sa);
  __m256 m[U];
  for (int u = 0; u < U; ++u) m[u] = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8 * U) {
    __m256 y[U];
    for (int u = 0; u < U; ++u) {
      int jj = j + 8 * u;
      __m256 s = _mm256_mul_ps(vsa, _mm256_loadu_ps(ws + jj));
      y[u] = _mm256_mul_ps(
          _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i*)(acc + jj))),
          s);
      y[u] = _mm256_add_ps(y[u], _mm256_loadu_ps(bias + jj));
    }
    GeluN<U>(y);
    for (int u = 0; u < U; ++u) {
      int jj = j + 8 * u;
      _mm256_storeu_ps(out + jj, y[u]);
      m[u] = _mm256_max_ps(
          m[u], _mm256_and_ps(
                    y[u], _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))));
    }
  }
  for (int u = 1; u < U; ++u) m[0] = _mm256_max_ps(m[0], m[u]);
  float b[8];
  _mm256_storeu_ps(b, m[0]);
  float r = 0;
  for (float v : b) r = std::max(r, v);
  return r;
}

int main() {
  const int n = 1024, rows = 16;
  std::vector<int32_t> acc(rows * n);
  std::vector<float> ws(n), bias(n), out(n);
  std::mt19937 g(1);
  std::normal_distribution<float> d(0, 1);
  for (auto& a : acc) a = (int32_t)(d(g) * 3000);
  for (auto& w : ws) w = 0.0004f * (1 + 0.1f * d(g));
  for (auto& b : bias) b = 0.1f * d(g);
  double best[6] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
  for (int rep = 0; rep < 15; ++rep)
    for (int v = 0; v < 6; ++v) {
      auto t0 = std::chrono::steady_clock::now();
      float s = 0;
      for (int it = 0; it < 300; ++it)
        for (int r = 0; r < rows; ++r) {
          const int32_t* a = acc.data() + r * n;
          s += v == 0   ? Row<0>(a, ws.data(), bias.data(), 0.7f, n, out.data())
               : v == 1 ? Row<1>(a, ws.data(), bias.data(), 0.7f, n, out.data())
               : v == 2 ? Row<2>(a, ws.data(), bias.data(), 0.7f, n, out.data())
               : v == 3 ? Row<3>(a, ws.data(), bias.data(), 0.7f, n, out.data())
               : v == 4
                   ? Row512(a, ws.data(), bias.data(), 0.7f, n, out.data())
                   : Row<5>(a, ws.data(), bias.data(), 0.7f, n, out.data());
        }
      double ns = std::chrono::duration<double, std::nano>(
                      std::chrono::steady_clock::now() - t0)
                      .count() /
                  (300.0 * rows * n);
      if (s == 12345) printf("x");
      best[v] = std::min(best[v], ns);
    }
  for (int v = 0; v < 6; ++v) printf("variant %d: %.3f ns/elem\n", v, best[v]);
  // accuracy
  double worst0 = 0, worst1 = 0;
  for (float x = -10; x < 10; x += 1e-4f) {
    double ref = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    float a0 = _mm256_cvtss_f32(GeluFold(_mm256_set1_ps(x))),
          a1 = _mm256_cvtss_f32(GeluFoldRcp(_mm256_set1_ps(x)));
    worst0 = std::max(worst0, std::fabs(a0 - ref));
    worst1 = std::max(worst1, std::fabs(a1 - ref));
  }
  printf("max abs err fold %.3g foldrcp %.3g\n", worst0, worst1);
}
