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

#include <vector>

namespace fastrel {

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
};

// Runs the attention of every sequence and head (AttentionHead /
// AttentionProbs + AttentionContext kernels) and, with in.keep, chooses the
// kept rows. Inputs must be consistent (the encoder validates its batch);
// no error cases. Does not allocate once `scratch` has seen its largest
// sequence.
void RunPackedAttention(const PackedAttentionInput& in,
                        const PackedAttentionOutput& out,
                        AttentionScratch* scratch);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_ATTENTION_BLOCK_H_
