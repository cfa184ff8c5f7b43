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

constexpr int kAvx2Tile = internal::kSparseTileM;
// A VNNI tile of at most this many tokens runs unfused: the fused path works
// on whole 64-token tiles, the unfused kernel on 16 / 32 (less padding).
constexpr int kVnniFusedMinTokens = 32;

// The two layers of one small tile the unfused way (VNNI kernels, the
// epilogue's per-token requantization in between); the second layer's int32
// sums go to `acc`. Same results as the fused path.
void UnfusedVnniTile(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                     const int8_t* x, int64_t ldx, int mt, const Epilogue& ep1,
                     float* h_scale, int32_t* acc, int64_t ld_acc) {
  const int n1 = w1.n();
  thread_local std::vector<int32_t> acc1;
  thread_local std::vector<int8_t> codes;
  const int64_t ld1 = internal::Int32TileStride(n1);
  acc1.resize(static_cast<size_t>(mt) * ld1);
  codes.resize(static_cast<size_t>(mt) * n1);
  internal::Sparse4x1TileVnni(w1, x, ActType::kS8, ldx, mt, acc1.data(), ld1);
  Epilogue e1 = ep1;
  e1.requant = Epilogue::Requant::kDynamicSymmetric;
  e1.out_q = codes.data();
  e1.ld_out_q = n1;
  e1.out_q_scale = h_scale;
  ApplyEpilogue(e1, acc1.data(), ld1, 0, mt, n1, KernelIsa::kAvx512Vnni);
  internal::Sparse4x1TileVnni(w2, codes.data(), ActType::kS8, n1, mt, acc,
                              ld_acc);
}

}  // namespace

bool SparseFfnFusable(const PackedSparseInt8& w1, const PackedSparseInt8& w2,
                      KernelIsa isa) {
  const KernelIsa r = ResolveIsa(isa);
  return IsaAvailable(isa) &&
         (r == KernelIsa::kAvx2 || r == KernelIsa::kAvx512Vnni) &&
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

  const bool vnni = ResolveIsa(isa) == KernelIsa::kAvx512Vnni;
  const int tile_m = vnni ? internal::kSparseTileMVnni4x1 : kAvx2Tile;
  // The intermediate codes in the second kernel's activation layout: 32
  // bytes (AVX2) or 64 bytes (VNNI) per intermediate channel.
  struct alignas(64) Row64 {
    uint8_t v[64];
  };
  thread_local std::vector<Row64> h_codes;
  h_codes.resize(w1.n());
  uint8_t* xh = h_codes[0].v;
  thread_local std::vector<int32_t> tile;
  const int n = w2.n();
  const int64_t ld = internal::Int32TileStride(n);
  tile.resize(static_cast<size_t>(tile_m) * ld);
  for (int m0 = 0; m0 < m; m0 += tile_m) {
    const int mt = std::min(tile_m, m - m0);
    Epilogue t1 = ep1;
    t1.act_scale = ep1.act_scale + m0;
    float* hs = scales.data() + m0;
    if (!vnni) {
      internal::SparseFfnFirstTileAvx2(w1, x + m0 * ldx, ldx, mt, t1, xh, hs);
      internal::Sparse4x1ScratchTileAvx2(w2, xh, 128, 0, 0, mt, tile.data(),
                                         ld);
    } else if (mt > kVnniFusedMinTokens) {
      internal::SparseFfnFirstTileVnni64(w1, x + m0 * ldx, ldx, mt, t1, xh, hs);
      internal::Sparse4x1ScratchTileVnni64(w2, xh, true, mt, tile.data(), ld);
    } else {
      UnfusedVnniTile(w1, w2, x + m0 * ldx, ldx, mt, t1, hs, tile.data(), ld);
    }
    ApplyEpilogue(e2, tile.data(), ld, m0, mt, n, isa);
  }
  return absl::OkStatus();
}

}  // namespace fastrel
