#include "engine/kernels/quantize.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fastrel {
namespace internal {

// The helpers below define the exact float operation sequence shared with
// quantize_avx2.cc; keep the two in sync.
float QuantizeRowSymmetricRef(const float* x, int k, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  if (amax == 0.0f) {
    std::fill(q, q + k, int8_t{0});
    return 1.0f;
  }
  const float inv = 127.0f / amax;
  for (int i = 0; i < k; ++i) {
    const float v = std::min(std::max(x[i] * inv, -127.0f), 127.0f);
    q[i] = static_cast<int8_t>(std::nearbyint(v));
  }
  return amax / 127.0f;
}

float QuantizeRowAsymmetricRef(const float* x, int k, uint8_t* q, int32_t* zp) {
  float lo = 0.0f, hi = 0.0f;
  for (int i = 0; i < k; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi == lo) {  // all zeros
    std::fill(q, q + k, uint8_t{0});
    *zp = 0;
    return 1.0f;
  }
  const float inv = 255.0f / (hi - lo);
  const float z = std::min(std::max(std::nearbyint(-lo * inv), 0.0f), 255.0f);
  for (int i = 0; i < k; ++i) {
    const float v =
        std::min(std::max(std::nearbyint(x[i] * inv) + z, 0.0f), 255.0f);
    q[i] = static_cast<uint8_t>(v);
  }
  *zp = static_cast<int32_t>(z);
  return (hi - lo) / 255.0f;
}

void QuantizeRowStaticRef(const float* x, int k, float inv_scale, int8_t* q) {
  for (int i = 0; i < k; ++i) {
    const float v = std::min(std::max(x[i] * inv_scale, -127.0f), 127.0f);
    q[i] = static_cast<int8_t>(std::nearbyint(v));
  }
}

}  // namespace internal

namespace {

absl::Status CheckShape(const void* x, int m, int k, int ldx, const void* q,
                        int ldq, KernelIsa isa) {
  if (m < 0 || k < 1 || ldx < k || ldq < k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quantize: bad shape m=", m, " k=", k, " ldx=", ldx, " ldq=", ldq));
  }
  if (m > 0 && (x == nullptr || q == nullptr)) {
    return absl::InvalidArgumentError("quantize: null buffer");
  }
  if (!IsaAvailable(isa)) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantize: ISA ", KernelIsaName(isa), " not available"));
  }
  return absl::OkStatus();
}

bool UseAvx2(KernelIsa isa) { return ResolveIsa(isa) != KernelIsa::kRef; }

}  // namespace

absl::Status QuantizeRowsSymmetric(const float* x, int m, int k, int ldx,
                                   int8_t* q, int ldq, float* scale,
                                   KernelIsa isa) {
  if (absl::Status s = CheckShape(x, m, k, ldx, q, ldq, isa); !s.ok()) return s;
  if (m > 0 && scale == nullptr) {
    return absl::InvalidArgumentError("quantize: null scale");
  }
  const KernelIsa resolved = ResolveIsa(isa);
  const auto row =
      resolved == KernelIsa::kAvx512Vnni ? internal::QuantizeRowSymmetricAvx512
      : resolved == KernelIsa::kAvx2     ? internal::QuantizeRowSymmetricAvx2
                                         : internal::QuantizeRowSymmetricRef;
  for (int r = 0; r < m; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * ldx;
    int8_t* qr = q + static_cast<int64_t>(r) * ldq;
    scale[r] = row(xr, k, qr);
  }
  return absl::OkStatus();
}

absl::Status QuantizeRowsAsymmetric(const float* x, int m, int k, int ldx,
                                    uint8_t* q, int ldq, float* scale,
                                    int32_t* zero_point, KernelIsa isa) {
  if (absl::Status s = CheckShape(x, m, k, ldx, q, ldq, isa); !s.ok()) return s;
  if (m > 0 && (scale == nullptr || zero_point == nullptr)) {
    return absl::InvalidArgumentError("quantize: null scale or zero point");
  }
  const bool avx2 = UseAvx2(isa);
  for (int r = 0; r < m; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * ldx;
    uint8_t* qr = q + static_cast<int64_t>(r) * ldq;
    scale[r] =
        avx2 ? internal::QuantizeRowAsymmetricAvx2(xr, k, qr, &zero_point[r])
             : internal::QuantizeRowAsymmetricRef(xr, k, qr, &zero_point[r]);
  }
  return absl::OkStatus();
}

absl::Status QuantizeStatic(const float* x, int m, int k, int ldx, float scale,
                            int8_t* q, int ldq, KernelIsa isa) {
  if (absl::Status s = CheckShape(x, m, k, ldx, q, ldq, isa); !s.ok()) return s;
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantize: static scale must be > 0, got ", scale));
  }
  const float inv = 1.0f / scale;
  const bool avx2 = UseAvx2(isa);
  for (int r = 0; r < m; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * ldx;
    int8_t* qr = q + static_cast<int64_t>(r) * ldq;
    if (avx2) {
      internal::QuantizeRowStaticAvx2(xr, k, inv, qr);
    } else {
      internal::QuantizeRowStaticRef(xr, k, inv, qr);
    }
  }
  return absl::OkStatus();
}

}  // namespace fastrel
