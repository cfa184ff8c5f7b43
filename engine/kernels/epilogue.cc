#include "engine/kernels/epilogue.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/quantize.h"

namespace fastrel {
namespace internal {

float ApplyEpilogueRowRef(const Epilogue& ep, const int32_t* acc, int m, int n,
                          float* out, bool want_amax) {
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = ep.act_zero_point ? ep.act_zero_point[m] : 0;
  float amax = 0.0f;
  const float* res = ep.residual ? ep.residual + m * ep.ld_residual : nullptr;
  for (int j = 0; j < n; ++j) {
    int32_t c = acc[j];
    if (ep.act_zero_point) {
      // Wrapping int32 arithmetic (as the SIMD path); the true value fits.
      c = static_cast<int32_t>(static_cast<uint32_t>(c) -
                               static_cast<uint32_t>(zp) *
                                   static_cast<uint32_t>(ep.weight_col_sum[j]));
    }
    const float s = sa * ep.weight_scale[j];
    float y = static_cast<float>(c) * s;
    if (ep.bias) y = y + ep.bias[j];
    if (ep.gelu) y = 0.5f * y * (1.0f + std::erf(y * 0.70710678118654752f));
    if (res) y = y + res[j];
    out[j] = y;
    if (want_amax) amax = std::max(amax, std::fabs(y));
  }
  return amax;
}

}  // namespace internal

absl::Status CheckEpilogue(const Epilogue& ep, int m, int n) {
  if (m < 0 || n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("epilogue: bad shape m=", m, " n=", n));
  }
  if (m == 0) return absl::OkStatus();
  if (!ep.act_scale || !ep.weight_scale ||
      (!ep.out && ep.requant == Epilogue::Requant::kNone)) {
    return absl::InvalidArgumentError(
        "epilogue: act_scale, weight_scale and out (or requant) are required");
  }
  if (ep.out && ep.ld_out < n) {
    return absl::InvalidArgumentError(
        absl::StrCat("epilogue: ld_out ", ep.ld_out, " < n ", n));
  }
  if (ep.act_zero_point && !ep.weight_col_sum) {
    return absl::InvalidArgumentError(
        "epilogue: act_zero_point needs weight_col_sum");
  }
  if (ep.residual && ep.ld_residual < n) {
    return absl::InvalidArgumentError("epilogue: ld_residual < n");
  }
  if (ep.residual && ep.out && ep.residual != ep.out) {
    // Partial overlap would make the result depend on the tile order.
    const float* r0 = ep.residual;
    const float* r1 = ep.residual + (m - 1) * ep.ld_residual + n;
    const float* o0 = ep.out;
    const float* o1 = ep.out + (m - 1) * ep.ld_out + n;
    if (r0 < o1 && o0 < r1) {
      return absl::InvalidArgumentError(
          "epilogue: residual overlaps out without being identical");
    }
  }
  if (ep.residual == ep.out && ep.residual && ep.ld_residual != ep.ld_out) {
    return absl::InvalidArgumentError(
        "epilogue: in-place residual needs ld_residual == ld_out");
  }
  switch (ep.requant) {
    case Epilogue::Requant::kNone:
      break;
    case Epilogue::Requant::kStatic:
      if (!(ep.requant_scale > 0.0f) || !std::isfinite(ep.requant_scale)) {
        return absl::InvalidArgumentError(
            "epilogue: static requant needs requant_scale > 0");
      }
      [[fallthrough]];
    case Epilogue::Requant::kDynamicSymmetric:
      if (!ep.out_q || ep.ld_out_q < n) {
        return absl::InvalidArgumentError(
            "epilogue: requant needs out_q with ld_out_q >= n");
      }
      if (ep.requant == Epilogue::Requant::kDynamicSymmetric &&
          !ep.out_q_scale) {
        return absl::InvalidArgumentError(
            "epilogue: dynamic requant needs out_q_scale");
      }
      break;
  }
  return absl::OkStatus();
}

void ApplyEpilogue(const Epilogue& ep, const int32_t* acc, int64_t ld_acc,
                   int m0, int rows, int n, KernelIsa isa) {
  const KernelIsa resolved = ResolveIsa(isa);
  const bool simd = resolved != KernelIsa::kRef;
  const auto row = resolved == KernelIsa::kAvx512Vnni
                       ? internal::ApplyEpilogueRowAvx512
                   : simd ? internal::ApplyEpilogueRowAvx2
                          : internal::ApplyEpilogueRowRef;
  const bool dynamic = ep.requant == Epilogue::Requant::kDynamicSymmetric;
  thread_local std::vector<float> scratch;  // rows when ep.out is null
  if (ep.out == nullptr && scratch.size() < static_cast<size_t>(n)) {
    scratch.resize(n);
  }
  for (int r = 0; r < rows; ++r) {
    const int m = m0 + r;
    float* y = ep.out ? ep.out + m * ep.ld_out : scratch.data();
    const float amax = row(ep, acc + r * ld_acc, m, n, y, dynamic);
    if (ep.requant == Epilogue::Requant::kNone) continue;
    int8_t* q = ep.out_q + m * ep.ld_out_q;
    if (dynamic) {
      // The tail of QuantizeRowSymmetric{Ref,Avx2} (quantize.cc) after its
      // max pass, with the max taken above: same codes and scale.
      if (amax == 0.0f) {
        std::fill(q, q + n, int8_t{0});
        ep.out_q_scale[m] = 1.0f;
        continue;
      }
      const float inv = 127.0f / amax;
      ep.out_q_scale[m] = amax / 127.0f;
      if (resolved == KernelIsa::kAvx512Vnni) {
        internal::QuantizeRowWithMaxAvx512(y, n, inv, q);
      } else if (simd) {
        internal::QuantizeRowWithMaxAvx2(y, n, inv, q);
      } else {
        internal::QuantizeRowStaticRef(y, n, inv, q);
      }
    } else if (simd) {
      internal::QuantizeRowStaticAvx2(y, n, 1.0f / ep.requant_scale, q);
    } else {
      internal::QuantizeRowStaticRef(y, n, 1.0f / ep.requant_scale, q);
    }
  }
}

}  // namespace fastrel
