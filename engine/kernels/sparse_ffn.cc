#include "engine/kernels/sparse_ffn.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel {
namespace {

absl::Status CheckFirstEpilogue(const Epilogue& ep1) {
  if (ep1.act_scale == nullptr || ep1.act_scale_per_tensor ||
      ep1.weight_scale == nullptr) {
    return absl::InvalidArgumentError(
        "sparse ffn: the first epilogue needs per-token act_scale and "
        "weight_scale");
  }
  if (ep1.act_zero_point != nullptr || ep1.residual != nullptr ||
      ep1.out != nullptr || ep1.requant != Epilogue::Requant::kNone ||
      ep1.out_q != nullptr || ep1.out_q_scale != nullptr) {
    return absl::InvalidArgumentError(
        "sparse ffn: the first epilogue takes only act_scale, weight_scale, "
        "bias and gelu (zero points, residual, outputs and requantization "
        "are fixed by the fused pair)");
  }
  return absl::OkStatus();
}

}  // namespace

bool SparseFfnFusable(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                      KernelIsa isa) {
  return IsaAvailable(isa) && ResolveIsa(isa) == KernelIsa::kAvx2 &&
         w1.pattern() == SparsePattern::kBlock4x1 &&
         w2.pattern() == SparsePattern::kBlock4x1 && w1.n() == w2.k();
}

absl::Status SparseFfn(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                       const int8_t* x, int m, int64_t ldx, const Epilogue& ep1,
                       const Epilogue& ep2, KernelIsa isa) {
  if (!SparseFfnFusable(w1, w2, isa)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sparse ffn: no fused kernel for ", SparsePatternName(w1.pattern()),
        " ", w1.k(), "x", w1.n(), " then ", SparsePatternName(w2.pattern()),
        " ", w2.k(), "x", w2.n(), " on ISA ", KernelIsaName(isa)));
  }
  if (m < 0 || ldx < w1.k() || (m > 0 && x == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sparse ffn: bad m=", m, " ldx=", ldx, " (K=", w1.k(), ")"));
  }
  if (absl::Status s = CheckFirstEpilogue(ep1); !s.ok()) return s;
  if (ep2.act_scale != nullptr || ep2.act_zero_point != nullptr) {
    return absl::InvalidArgumentError(
        "sparse ffn: the second epilogue's activation scales come from the "
        "first layer (leave act_scale and act_zero_point unset)");
  }
  thread_local std::vector<float> scales;
  scales.resize(std::max(m, 1));
  Epilogue e2 = ep2;
  e2.act_scale = scales.data();
  if (absl::Status s = CheckEpilogue(e2, m, w2.n()); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("sparse ffn: second layer: ", s.message()));
  }

  constexpr int kTile = internal::kSparseTileM;
  // The AVX2 4x1 scratch layout: 32 bytes per intermediate channel.
  struct alignas(32) Row32 {
    uint8_t v[32];
  };
  thread_local std::vector<Row32> h_codes;
  h_codes.resize(w1.n());
  uint8_t* xt2 = h_codes[0].v;
  thread_local std::vector<int32_t> tile;
  const int n = w2.n();
  // Row stride of the int32 tile: as in SparseGemm (rows a multiple of 2 KB
  // apart would share L1 sets).
  const int64_t ld = n % 512 == 0 ? n + 16 : n;
  tile.resize(static_cast<size_t>(kTile) * ld);
  for (int m0 = 0; m0 < m; m0 += kTile) {
    const int mt = std::min(kTile, m - m0);
    Epilogue t1 = ep1;
    t1.act_scale = ep1.act_scale + m0;
    internal::SparseFfnFirstTileAvx2(w1, x + m0 * ldx, ldx, mt, t1, xt2,
                                     scales.data() + m0);
    internal::Sparse4x1ScratchTileAvx2(w2, xt2, 128, 0, 0, mt, tile.data(), ld);
    ApplyEpilogue(e2, tile.data(), ld, m0, mt, n, KernelIsa::kAvx2);
  }
  return absl::OkStatus();
}

}  // namespace fastrel
