#include "engine/kernels/attention_int8.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/kernels/int8_types.h"

namespace fastrel {

void Int8QKt_ref(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
                 int n_k, int dh, int32_t* s, int ld_s) {
  for (int i = 0; i < n_q; ++i) {
    const int8_t* qi = q + static_cast<long>(i) * ld_q;
    int32_t* si = s + static_cast<long>(i) * ld_s;
    for (int j = 0; j < n_k; ++j) {
      const int8_t* kj = k + static_cast<long>(j) * ld_k;
      int32_t dot = 0;
      for (int d = 0; d < dh; ++d) dot += int32_t{qi[d]} * int32_t{kj[d]};
      si[j] = dot;
    }
  }
}

void Int8PV_ref(const uint8_t* p, int ld_p, int n_rows, int n_k,
                const int8_t* v, int ld_v, int dh, int32_t* c, int ld_c) {
  for (int r = 0; r < n_rows; ++r) {
    const uint8_t* pr = p + static_cast<long>(r) * ld_p;
    int32_t* cr = c + static_cast<long>(r) * ld_c;
    std::fill(cr, cr + dh, 0);
    for (int j = 0; j < n_k; ++j) {
      const int32_t pj = pr[j];
      const int8_t* vj = v + static_cast<long>(j) * ld_v;
      for (int d = 0; d < dh; ++d) cr[d] += pj * int32_t{vj[d]};
    }
  }
}

float QuantizeWeightsU8_ref(const float* p, const float* mul, int n,
                            uint8_t* code) {
  float m = 0.0f;
  for (int j = 0; j < n; ++j) {
    m = std::max(m, mul != nullptr ? p[j] * mul[j] : p[j]);
  }
  if (m == 0.0f) {
    std::fill(code, code + n, uint8_t{0});
    return 1.0f;
  }
  const float inv = 255.0f / m;
  for (int j = 0; j < n; ++j) {
    const float w = mul != nullptr ? p[j] * mul[j] : p[j];
    code[j] = static_cast<uint8_t>(std::nearbyint(std::min(w * inv, 255.0f)));
  }
  return m / 255.0f;
}

void ScoresToProbs_ref(const int32_t* acc, int ld_acc, int rows, int n,
                       float scale, const float* q_scale, const float* k_scale,
                       float* probs, int ld_probs, float* colsum) {
  for (int i = 0; i < rows; ++i) {
    const int32_t* ai = acc + static_cast<long>(i) * ld_acc;
    float* p = probs + static_cast<long>(i) * ld_probs;
    const float a = scale * q_scale[i];
    float m = -std::numeric_limits<float>::infinity();
    for (int j = 0; j < n; ++j) {
      p[j] = (a * k_scale[j]) * static_cast<float>(ai[j]);
      m = std::max(m, p[j]);
    }
    float sum = 0.0f;
    for (int j = 0; j < n; ++j) {
      p[j] = std::exp(p[j] - m);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < n; ++j) p[j] *= inv;
    if (colsum != nullptr) {
      for (int j = 0; j < n; ++j) colsum[j] += p[j];
    }
  }
}

void ScaleInt32Rows_ref(const int32_t* acc, int ld_acc, int rows, int n,
                        const float* s, float* out, int ld_out) {
  for (int r = 0; r < rows; ++r) {
    const int32_t* ar = acc + static_cast<long>(r) * ld_acc;
    float* o = out + static_cast<long>(r) * ld_out;
    for (int d = 0; d < n; ++d) o[d] = s[r] * static_cast<float>(ar[d]);
  }
}

namespace {
// Resolved once (GetCpuFeatures is itself cached, but these run per row).
KernelIsa Isa() {
  static const KernelIsa isa = ResolveIsa(KernelIsa::kAuto);
  return isa;
}
bool UseAvx2() { return Isa() != KernelIsa::kRef; }
}  // namespace

void Int8QKt(const int8_t* q, int ld_q, int n_q, const int8_t* k, int ld_k,
             int n_k, int dh, int32_t* s, int ld_s) {
  switch (Isa()) {
    case KernelIsa::kAvx512Vnni:
      return Int8QKt_vnni(q, ld_q, n_q, k, ld_k, n_k, dh, s, ld_s);
    case KernelIsa::kAvx2:
      return Int8QKt_avx2(q, ld_q, n_q, k, ld_k, n_k, dh, s, ld_s);
    default:
      return Int8QKt_ref(q, ld_q, n_q, k, ld_k, n_k, dh, s, ld_s);
  }
}

void Int8PV(const uint8_t* p, int ld_p, int n_rows, int n_k, const int8_t* v,
            int ld_v, int dh, int32_t* c, int ld_c) {
  switch (Isa()) {
    case KernelIsa::kAvx512Vnni:
      return Int8PV_vnni(p, ld_p, n_rows, n_k, v, ld_v, dh, c, ld_c);
    case KernelIsa::kAvx2:
      return Int8PV_avx2(p, ld_p, n_rows, n_k, v, ld_v, dh, c, ld_c);
    default:
      return Int8PV_ref(p, ld_p, n_rows, n_k, v, ld_v, dh, c, ld_c);
  }
}

float QuantizeWeightsU8(const float* p, const float* mul, int n,
                        uint8_t* code) {
  if (Isa() == KernelIsa::kAvx512Vnni) {
    return QuantizeWeightsU8_avx512(p, mul, n, code);
  }
  if (UseAvx2()) return QuantizeWeightsU8_avx2(p, mul, n, code);
  return QuantizeWeightsU8_ref(p, mul, n, code);
}

void ScoresToProbs(const int32_t* acc, int ld_acc, int rows, int n, float scale,
                   const float* q_scale, const float* k_scale, float* probs,
                   int ld_probs, float* colsum) {
  switch (Isa()) {
    case KernelIsa::kAvx512Vnni:
      return ScoresToProbs_avx512(acc, ld_acc, rows, n, scale, q_scale, k_scale,
                                  probs, ld_probs, colsum);
    case KernelIsa::kAvx2:
      return ScoresToProbs_avx2(acc, ld_acc, rows, n, scale, q_scale, k_scale,
                                probs, ld_probs, colsum);
    default:
      return ScoresToProbs_ref(acc, ld_acc, rows, n, scale, q_scale, k_scale,
                               probs, ld_probs, colsum);
  }
}

void ScaleInt32Rows(const int32_t* acc, int ld_acc, int rows, int n,
                    const float* s, float* out, int ld_out) {
  if (Isa() == KernelIsa::kAvx512Vnni) {
    return ScaleInt32Rows_avx512(acc, ld_acc, rows, n, s, out, ld_out);
  }
  if (UseAvx2()) {
    return ScaleInt32Rows_avx2(acc, ld_acc, rows, n, s, out, ld_out);
  }
  ScaleInt32Rows_ref(acc, ld_acc, rows, n, s, out, ld_out);
}

}  // namespace fastrel
