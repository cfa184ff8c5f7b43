// Self-attention of a packed batch with token selection (DESIGN.md,
// "Length-adaptive inference"): the part of an encoder layer between the
// Q/K/V projections and the attention-output projection.
//
// In a layer that drops tokens, significance needs the probabilities of every
// query row, but everything after the softmax is per query row: this computes
// the context only for the rows that are kept, so the attention-output
// projection, its residual and LayerNorm can run on the kept rows only. The
// result equals "attention for all rows, then drop" up to float
// reassociation.
#ifndef FASTREL_ENGINE_RUNTIME_ATTENTION_BLOCK_H_
#define FASTREL_ENGINE_RUNTIME_ATTENTION_BLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fastrel {

// Arithmetic of the attention matrix products.
//  * kFp32: fp32 Q.K^T and P.V (the reference; fp32 models use only this).
//  * kInt8: Q, K and V quantized per token and head (dynamic symmetric s8,
//    QuantizeRowsSymmetric over each head's dh columns); scores
//    scale * sq_i * sk_j * (exact int32 q.k); softmax in fp32 as with kFp32
//    (so significance comes from fp32 probabilities); the context of row i is
//    sum_j p_ij sv_j v_j computed as w_j = p_ij * sv_j quantized to u8 with
//    one scale per row (QuantizeWeightsU8) times the s8 V codes, exact int32
//    accumulation, then scaled. Kernels: engine/kernels/attention_int8.h.
enum class AttentionPrecision { kFp32, kInt8 };
// "fp32", "int8".
const char* AttentionPrecisionName(AttentionPrecision p);
// The inverse of AttentionPrecisionName; nullopt for any other name.
std::optional<AttentionPrecision> ParseAttentionPrecision(
    const std::string& name);

// Inputs of one layer's attention over a packed batch. All pointers are
// caller-owned and must stay valid during the call.
struct PackedAttentionInput {
  int num_sequences = 0;
  int hidden = 0;      // H: rows of q, k, v and the context are H floats apart
  int num_heads = 0;   // H / num_heads = head size (a multiple of 8 is fastest)
  float scale = 1.0f;  // scores are scale * dot(q_i, k_j)
  // [num_sequences + 1]: sequence s owns rows [offsets[s], offsets[s+1]) of
  // k and v (and of q unless cls_only).
  const int* offsets = nullptr;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  // q holds one query row per sequence (row s: its [CLS]); the context gets
  // one row per sequence. No token selection (keep must be null).
  bool cls_only = false;
  // [num_sequences] or null (keep every token): the number of tokens sequence
  // s keeps, in [1, n_s]. [CLS] (its row 0) is always kept; the others by
  // significance (attention received, summed over heads and all query rows),
  // ties to the lower position; kept rows stay in their original order.
  const int* keep = nullptr;
  // Compute the significance of sequences that keep every token too (for a
  // trace); otherwise only sequences that drop tokens compute it.
  bool significance_for_all = false;
  AttentionPrecision precision = AttentionPrecision::kFp32;
  // kInt8 only, optional (all three or none): Q, K and V already quantized
  // per token with one scale for all heads (ActQuant::kPerTokenSymmetricS8,
  // rows `hidden` bytes apart, e.g. written by the projections' fused
  // epilogues); then q, k and v are not read and may be null. Without them
  // the kInt8 path quantizes q, k and v per token and head itself.
  const int8_t* q_codes = nullptr;
  const int8_t* k_codes = nullptr;
  const int8_t* v_codes = nullptr;
  const float* q_scale = nullptr;
  const float* k_scale = nullptr;
  const float* v_scale = nullptr;
};

// Outputs; buffers are caller-owned.
struct PackedAttentionOutput {
  // [output rows x hidden]: the context of each output row (a kept row; with
  // cls_only, row s is sequence s's [CLS]).
  float* ctx = nullptr;
  // With keep: [num_sequences + 1] offsets of the kept rows in ctx, and
  // [input rows] source_rows: the input row (index into k/v rows) of each
  // output row, increasing; source_rows[r] >= r. Unused (may be null) without
  // keep.
  int* new_offsets = nullptr;
  int* source_rows = nullptr;
  // With keep (required then): [input rows] significance of each input row,
  // written for the sequences that computed it (see significance_for_all).
  double* significance = nullptr;
};

// Grow-only scratch (probabilities of one sequence's heads, column sums, the
// selection order). Thread safety: one per thread (lives in a Workspace).
struct AttentionScratch {
  std::vector<float> probs, colsum;
  std::vector<int> order;
  // kInt8 only: codes of Q, K, V [rows x hidden], their scales [heads x
  // rows], int32 products, u8 weights of one head's context rows and their
  // scales.
  std::vector<int8_t> qc, kc, vc;
  std::vector<float> qs, ks, vs, ws;
  std::vector<int32_t> acc;
  std::vector<uint8_t> wc;
};

// order[0..k) = the kept rows of a sequence of n rows given their
// significance sig[0..n): 0 ([CLS]) and the k-1 most significant others
// (ties to the lower row), increasing. order must hold n ints.
void SelectKeptRows(const double* sig, int n, int k, int* order);

// Runs the attention of every sequence and head (kFp32: AttentionHead /
// AttentionProbs + AttentionContext kernels; kInt8: see AttentionPrecision)
// and, with in.keep, chooses the kept rows. Inputs must be consistent (the
// encoder validates its batch); no error cases. Does not allocate once
// `scratch` has seen its largest sequence.
void RunPackedAttention(const PackedAttentionInput& in,
                        const PackedAttentionOutput& out,
                        AttentionScratch* scratch);

// The kInt8 implementation (RunPackedAttention calls it for kInt8); same
// contract. Head size dh = hidden / num_heads may be anything >= 1.
void RunPackedAttentionInt8(const PackedAttentionInput& in,
                            const PackedAttentionOutput& out,
                            AttentionScratch* scratch);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_ATTENTION_BLOCK_H_
