#include "engine/kernels/sparse_gemm.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fastrel {
namespace internal {
namespace {

template <typename T>
void Sparse4x1Ref(const PackedSparseInt8& w, const T* x, int64_t ldx, int mt,
                  int32_t* out, int64_t ldo) {
  const auto& row_ptr = w.row_ptr();
  const auto& col = w.col();
  const auto& val = w.val();
  for (int t = 0; t < mt; ++t) {
    const T* xt = x + t * ldx;
    for (int rb = 0; rb < w.n() / 4; ++rb) {
      int32_t acc[4] = {0, 0, 0, 0};
      for (uint32_t b = row_ptr[rb]; b < row_ptr[rb + 1]; ++b) {
        const int32_t a = xt[col[b]];
        const int8_t* quad = val.data() + size_t{16} * (b / 4);
        for (int j = 0; j < 4; ++j) acc[j] += a * quad[j * 4 + b % 4];
      }
      for (int j = 0; j < 4; ++j) out[t * ldo + 4 * rb + j] = acc[j];
    }
  }
}

template <typename T>
void SparseNMRef(const PackedSparseInt8& w, const T* x, int64_t ldx, int mt,
                 int32_t* out, int64_t ldo) {
  const int span = w.span(), chunks = w.chunks(), k = w.k();
  const auto& idx = w.nm_idx();
  const auto& val = w.val();
  for (int t = 0; t < mt; ++t) {
    const T* xt = x + t * ldx;
    for (int r = 0; r < w.n(); ++r) {
      int32_t acc = 0;
      for (int c = 0; c < chunks; ++c) {
        const size_t pos =
            ((static_cast<size_t>(r / 16) * chunks + c) * 16 + r % 16) * 4;
        for (int s = 0; s < 4; ++s) {
          const int kk = c * span + idx[pos + s];
          if (kk < k) acc += int32_t{xt[kk]} * val[pos + s];
        }
      }
      out[t * ldo + r] = acc;
    }
  }
}

}  // namespace

void Sparse4x1TileRef(const PackedSparseInt8& w, const void* x, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  if (act == ActType::kS8) {
    Sparse4x1Ref(w, static_cast<const int8_t*>(x), ldx, mt, out, ldo);
  } else {
    Sparse4x1Ref(w, static_cast<const uint8_t*>(x), ldx, mt, out, ldo);
  }
}

void SparseNMTileRef(const PackedSparseInt8& w, const void* x, ActType act,
                     int64_t ldx, int mt, int32_t* out, int64_t ldo) {
  if (act == ActType::kS8) {
    SparseNMRef(w, static_cast<const int8_t*>(x), ldx, mt, out, ldo);
  } else {
    SparseNMRef(w, static_cast<const uint8_t*>(x), ldx, mt, out, ldo);
  }
}

}  // namespace internal

namespace {

struct TileKernel {
  internal::SparseTileKernel fn;
  int tile_m;  // most tokens per call
};

absl::StatusOr<TileKernel> PickKernel(const PackedSparseInt8& w,
                                      KernelIsa isa) {
  if (!IsaAvailable(isa)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sparse gemm: ISA ", KernelIsaName(isa), " not available on this CPU"));
  }
  const bool block = w.pattern() == SparsePattern::kBlock4x1;
  constexpr int kM = internal::kSparseTileM;
  switch (ResolveIsa(isa)) {
    case KernelIsa::kAvx512Vnni:
      return block ? TileKernel{internal::Sparse4x1TileVnni,
                                internal::kSparseTileMVnni4x1}
                   : TileKernel{internal::SparseNMTileVnni, kM};
    case KernelIsa::kAvx2:
      return TileKernel{
          block ? internal::Sparse4x1TileAvx2 : internal::SparseNMTileAvx2, kM};
    default:
      return TileKernel{
          block ? internal::Sparse4x1TileRef : internal::SparseNMTileRef, kM};
  }
}

absl::Status CheckArgs(const PackedSparseInt8& w, const void* x, int m,
                       int64_t ldx) {
  if (m < 0 || ldx < w.k()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sparse gemm: bad m=", m, " ldx=", ldx, " (K=", w.k(), ")"));
  }
  if (m > 0 && x == nullptr) {
    return absl::InvalidArgumentError("sparse gemm: null activations");
  }
  return absl::OkStatus();
}

absl::Status GemmInt32(const PackedSparseInt8& w, const void* x, ActType act,
                       int m, int64_t ldx, int32_t* acc, int64_t ldc,
                       KernelIsa isa) {
  if (absl::Status s = CheckArgs(w, x, m, ldx); !s.ok()) return s;
  if (ldc < w.n() || (m > 0 && acc == nullptr)) {
    return absl::InvalidArgumentError("sparse gemm: bad output");
  }
  absl::StatusOr<TileKernel> kernel = PickKernel(w, isa);
  if (!kernel.ok()) return kernel.status();
  const auto* xb = static_cast<const uint8_t*>(x);  // 1 byte per code
  const int tm = kernel->tile_m;
  for (int m0 = 0; m0 < m; m0 += tm) {
    const int mt = std::min(tm, m - m0);
    kernel->fn(w, xb + m0 * ldx, act, ldx, mt, acc + m0 * ldc, ldc);
  }
  return absl::OkStatus();
}

absl::Status Gemm(const PackedSparseInt8& w, const void* x, ActType act, int m,
                  int64_t ldx, const Epilogue& ep, KernelIsa isa) {
  if (absl::Status s = CheckArgs(w, x, m, ldx); !s.ok()) return s;
  if (absl::Status s = CheckEpilogue(ep, m, w.n()); !s.ok()) return s;
  absl::StatusOr<TileKernel> kernel = PickKernel(w, isa);
  if (!kernel.ok()) return kernel.status();
  thread_local std::vector<int32_t> tile;
  const int n = w.n();
  const int tm = kernel->tile_m;
  const int64_t ld = internal::Int32TileStride(n);
  tile.resize(static_cast<size_t>(tm) * ld);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int m0 = 0; m0 < m; m0 += tm) {
    const int mt = std::min(tm, m - m0);
    kernel->fn(w, xb + m0 * ldx, act, ldx, mt, tile.data(), ld);
    ApplyEpilogue(ep, tile.data(), ld, m0, mt, n, isa);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SparseGemmInt32(const PackedSparseInt8& w, const int8_t* x, int m,
                             int64_t ldx, int32_t* acc, int64_t ldc,
                             KernelIsa isa) {
  return GemmInt32(w, x, ActType::kS8, m, ldx, acc, ldc, isa);
}

absl::Status SparseGemmInt32(const PackedSparseInt8& w, const uint8_t* x, int m,
                             int64_t ldx, int32_t* acc, int64_t ldc,
                             KernelIsa isa) {
  return GemmInt32(w, x, ActType::kU8, m, ldx, acc, ldc, isa);
}

absl::Status SparseGemm(const PackedSparseInt8& w, const int8_t* x, int m,
                        int64_t ldx, const Epilogue& ep, KernelIsa isa) {
  return Gemm(w, x, ActType::kS8, m, ldx, ep, isa);
}

absl::Status SparseGemm(const PackedSparseInt8& w, const uint8_t* x, int m,
                        int64_t ldx, const Epilogue& ep, KernelIsa isa) {
  return Gemm(w, x, ActType::kU8, m, ldx, ep, isa);
}

}  // namespace fastrel
