#include "engine/kernels/epilogue.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/kernels/quantize.h"

namespace fastrel {
namespace internal {

void ApplyEpilogueRowRef(const Epilogue& ep, const int32_t* acc, int m, int n) {
  const float sa = ep.act_scale_per_tensor ? ep.act_scale[0] : ep.act_scale[m];
  const int32_t zp = ep.act_zero_point ? ep.act_zero_point[m] : 0;
  float* out = ep.out + m * ep.ld_out;
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
  }
}

}  // namespace internal

absl::Status CheckEpilogue(const Epilogue& ep, int m, int n) {
  if (m < 0 || n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("epilogue: bad shape m=", m, " n=", n));
  }
  if (m == 0) return absl::OkStatus();
  if (!ep.act_scale || !ep.weight_scale || !ep.out) {
    return absl::InvalidArgumentError(
        "epilogue: act_scale, weight_scale and out are required");
  }
  if (ep.ld_out < n) {
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
  if (ep.residual && ep.residual != ep.out) {
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
  const bool simd = ResolveIsa(isa) != KernelIsa::kRef;
  for (int r = 0; r < rows; ++r) {
    const int m = m0 + r;
    if (simd) {
      internal::ApplyEpilogueRowAvx2(ep, acc + r * ld_acc, m, n);
    } else {
      internal::ApplyEpilogueRowRef(ep, acc + r * ld_acc, m, n);
    }
    if (ep.requant == Epilogue::Requant::kNone) continue;
    const float* y = ep.out + m * ep.ld_out;
    int8_t* q = ep.out_q + m * ep.ld_out_q;
    if (ep.requant == Epilogue::Requant::kStatic) {
      const float inv = 1.0f / ep.requant_scale;
      if (simd) {
        internal::QuantizeRowStaticAvx2(y, n, inv, q);
      } else {
        internal::QuantizeRowStaticRef(y, n, inv, q);
      }
    } else {
      ep.out_q_scale[m] = simd ? internal::QuantizeRowSymmetricAvx2(y, n, q)
                               : internal::QuantizeRowSymmetricRef(y, n, q);
    }
  }
}

}  // namespace fastrel
