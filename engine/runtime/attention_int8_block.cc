// RunPackedAttentionInt8: the AttentionPrecision::kInt8 attention of a packed
// batch (see attention_block.h for the numerics and the selection contract).
#include <algorithm>
#include <cstddef>

#include "engine/kernels/attention_int8.h"
#include "engine/kernels/quantize.h"
#include "engine/runtime/attention_block.h"
#include "engine/runtime/grow_scratch.h"

namespace fastrel {
namespace {

// Per token and head symmetric s8: codes [rows x hidden] (same layout as x),
// scales [heads x rows] (head h's scales at scales + h * rows).
void QuantizeHeads(const float* x, int rows, int hidden, int heads,
                   int8_t* codes, float* scales) {
  const int dh = hidden / heads;
  for (int h = 0; h < heads; ++h) {
    // Cannot fail: rows >= 0, dh >= 1, strides >= dh, non-null buffers.
    QuantizeRowsSymmetric(x + h * dh, rows, dh, hidden, codes + h * dh, hidden,
                          scales + static_cast<size_t>(h) * rows)
        .IgnoreError();
  }
}

}  // namespace

void RunPackedAttentionInt8(const PackedAttentionInput& in,
                            const PackedAttentionOutput& out,
                            AttentionScratch* scratch) {
  const int S = in.num_sequences, H = in.hidden, A = in.num_heads;
  const int dh = H / A;
  const int* off = in.offsets;
  const int rows = off[S];
  const int q_rows = in.cls_only ? S : rows;
  AttentionScratch& w = *scratch;
  // Codes [rows x H]; the scale of (head h, row r) is at
  // scale[h * head_stride + r]: per head (stride = rows) or per token
  // (stride 0, given codes).
  const int8_t *qc = in.q_codes, *kc = in.k_codes, *vc = in.v_codes;
  const float *qs = in.q_scale, *ks = in.k_scale, *vs = in.v_scale;
  size_t q_stride = 0, kv_stride = 0;
  if (qc == nullptr) {
    int8_t* q8 = GrowScratch(&w.qc, static_cast<size_t>(q_rows) * H);
    int8_t* k8 = GrowScratch(&w.kc, static_cast<size_t>(rows) * H);
    int8_t* v8 = GrowScratch(&w.vc, static_cast<size_t>(rows) * H);
    float* qf = GrowScratch(&w.qs, static_cast<size_t>(q_rows) * A);
    float* kf = GrowScratch(&w.ks, static_cast<size_t>(rows) * A);
    float* vf = GrowScratch(&w.vs, static_cast<size_t>(rows) * A);
    QuantizeHeads(in.q, q_rows, H, A, q8, qf);
    QuantizeHeads(in.k, rows, H, A, k8, kf);
    QuantizeHeads(in.v, rows, H, A, v8, vf);
    qc = q8, kc = k8, vc = v8, qs = qf, ks = kf, vs = vf;
    q_stride = q_rows;
    kv_stride = rows;
  }

  if (in.keep != nullptr) out.new_offsets[0] = 0;
  for (int s = 0; s < S; ++s) {
    const int base = off[s], n = off[s + 1] - off[s];
    const int n_q = in.cls_only ? 1 : n;
    const int q0 = in.cls_only ? s : base;
    const int kept = in.keep != nullptr ? std::min(n, in.keep[s]) : n_q;
    const int dst0 = in.keep != nullptr ? out.new_offsets[s] : q0;
    const bool need_sig =
        in.keep != nullptr && (kept < n || in.significance_for_all);
    const int ldp = (n + 7) / 8 * 8;
    const size_t head_probs = static_cast<size_t>(n_q) * ldp;
    float* probs = GrowScratch(&w.probs, head_probs * A);
    int32_t* acc =
        GrowScratch(&w.acc, static_cast<size_t>(n_q) * std::max(ldp, dh));
    float* colsum = GrowScratch(&w.colsum, n);
    double* sig = need_sig ? out.significance + base : nullptr;
    if (need_sig) std::fill(sig, sig + n, 0.0);
    // Probabilities of every head (fp32 softmax of the dequantized scores).
    for (int h = 0; h < A; ++h) {
      Int8QKt(qc + static_cast<size_t>(q0) * H + h * dh, H, n_q,
              kc + static_cast<size_t>(base) * H + h * dh, H, n, dh, acc, ldp);
      const float* sq = qs + h * q_stride + q0;
      const float* sk = ks + h * kv_stride + base;
      float* ph = probs + h * head_probs;
      if (need_sig) std::fill(colsum, colsum + n, 0.0f);
      ScoresToProbs(acc, ldp, n_q, n, in.scale, sq, sk, ph, ldp,
                    need_sig ? colsum : nullptr);
      if (need_sig) {
        for (int j = 0; j < n; ++j) sig[j] += colsum[j];
      }
    }
    int* order = GrowScratch(&w.order, n);
    if (need_sig) {
      SelectKeptRows(sig, n, kept, order);
    } else {
      for (int r = 0; r < kept; ++r) order[r] = r;
    }
    // Context of the kept rows: u8 weights p_ij * sv_j times s8 V codes.
    float* wscale = GrowScratch(&w.ws, kept);
    uint8_t* wc = GrowScratch(&w.wc, static_cast<size_t>(kept) * ldp);
    for (int h = 0; h < A; ++h) {
      const float* sv = vs + h * kv_stride + base;
      const float* ph = probs + h * head_probs;
      for (int r = 0; r < kept; ++r) {
        wscale[r] = QuantizeWeightsU8(ph + static_cast<size_t>(order[r]) * ldp,
                                      sv, n, wc + static_cast<size_t>(r) * ldp);
      }
      Int8PV(wc, ldp, kept, n, vc + static_cast<size_t>(base) * H + h * dh, H,
             dh, acc, dh);
      ScaleInt32Rows(acc, dh, kept, dh, wscale,
                     out.ctx + static_cast<size_t>(dst0) * H + h * dh, H);
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
