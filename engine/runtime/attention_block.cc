#include "engine/runtime/attention_block.h"

#include <algorithm>
#include <cstddef>

#include "engine/kernels/fp32_kernels.h"
#include "engine/runtime/grow_scratch.h"

namespace fastrel {

const char* AttentionPrecisionName(AttentionPrecision p) {
  return p == AttentionPrecision::kInt8 ? "int8" : "fp32";
}

std::optional<AttentionPrecision> ParseAttentionPrecision(
    const std::string& name) {
  if (name == "fp32") return AttentionPrecision::kFp32;
  if (name == "int8") return AttentionPrecision::kInt8;
  return std::nullopt;
}

// The comparator is a strict total order, so the chosen set is unique.
void SelectKeptRows(const double* sig, int n, int k, int* order) {
  for (int j = 0; j < n; ++j) order[j] = j;
  if (k >= n) return;
  auto more = [sig](int a, int b) {
    return sig[a] > sig[b] || (sig[a] == sig[b] && a < b);
  };
  std::nth_element(order + 1, order + k, order + n, more);
  std::sort(order + 1, order + k);
}

void RunPackedAttention(const PackedAttentionInput& in,
                        const PackedAttentionOutput& out,
                        AttentionScratch* scratch) {
  if (in.precision == AttentionPrecision::kInt8) {
    return RunPackedAttentionInt8(in, out, scratch);
  }
  const int S = in.num_sequences, H = in.hidden, A = in.num_heads;
  const int dh = H / A;
  const int* off = in.offsets;
  if (in.keep != nullptr) out.new_offsets[0] = 0;
  for (int s = 0; s < S; ++s) {
    const int base = off[s], n = off[s + 1] - off[s];
    const float* k = in.k + static_cast<size_t>(base) * H;
    const float* v = in.v + static_cast<size_t>(base) * H;
    if (in.cls_only) {
      const float* q = in.q + static_cast<size_t>(s) * H;
      float* ctx = out.ctx + static_cast<size_t>(s) * H;
      for (int h = 0; h < A; ++h) {
        AttentionHead(q + h * dh, k + h * dh, v + h * dh, H, 1, n, dh, in.scale,
                      nullptr, nullptr, ctx + h * dh, H);
      }
      continue;
    }
    const float* q = in.q + static_cast<size_t>(base) * H;
    const int kept = in.keep != nullptr ? std::min(n, in.keep[s]) : n;
    const int dst0 = in.keep != nullptr ? out.new_offsets[s] : base;
    float* ctx = out.ctx + static_cast<size_t>(dst0) * H;
    const bool need_sig =
        in.keep != nullptr && (kept < n || in.significance_for_all);
    if (!need_sig) {
      // Nothing to choose: fused attention, probabilities stay in L1.
      for (int h = 0; h < A; ++h) {
        AttentionHead(q + h * dh, k + h * dh, v + h * dh, H, n, n, dh, in.scale,
                      nullptr, nullptr, ctx + h * dh, H);
      }
      if (in.keep != nullptr) {
        for (int r = 0; r < n; ++r) out.source_rows[dst0 + r] = base + r;
        out.new_offsets[s + 1] = dst0 + n;
      }
      continue;
    }
    // Probabilities of all rows of every head (kept for the context), column
    // sums accumulated by the kernel: significance = sum over heads.
    const int ldp = (n + 7) / 8 * 8;
    const size_t head_probs = static_cast<size_t>(n) * ldp;
    float* probs = GrowScratch(&scratch->probs, head_probs * A);
    float* colsum = GrowScratch(&scratch->colsum, n);
    int* order = GrowScratch(&scratch->order, n);
    double* sig = out.significance + base;
    std::fill(sig, sig + n, 0.0);
    for (int h = 0; h < A; ++h) {
      std::fill(colsum, colsum + n, 0.0f);
      AttentionProbs(q + h * dh, k + h * dh, H, n, n, dh, in.scale,
                     probs + h * head_probs, ldp, colsum);
      for (int j = 0; j < n; ++j) sig[j] += colsum[j];
    }
    SelectKeptRows(sig, n, kept, order);
    for (int h = 0; h < A; ++h) {
      AttentionContext(probs + h * head_probs, ldp, order, kept, n, v + h * dh,
                       H, dh, ctx + h * dh, H);
    }
    if (in.keep != nullptr) {
      for (int r = 0; r < kept; ++r) {
        out.source_rows[dst0 + r] = base + order[r];
      }
      out.new_offsets[s + 1] = dst0 + kept;
    }
  }
}

}  // namespace fastrel
