// One-shot Optimal-Brain-Surgeon pruning with joint int8 quantization, in the
// style of SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models
// Can Be Accurately Pruned in One-Shot", ICML 2023, Algorithm 1), which is the
// fast, blocked form of OBC (Frantar & Alistarh, "Optimal Brain Compression",
// NeurIPS 2022) and shares its column sweep with GPTQ (Frantar et al. 2023).
//
// For a layer y = W x with Hessian H = (2/n) sum x x^T (hessian.h):
//  1. Dead inputs (H_ii == 0: the input is always zero) get H_ii = 1 and
//     W[:, i] = 0. H is damped: H += lambda I, lambda = percdamp * mean(diag
//     H).
//  2. U = upper Cholesky factor of H^{-1} (H^{-1} = U^T U). Row i of U, divided
//     by U_ii, is the OBS update direction for removing column i once columns
//     0..i-1 have been fixed, and U_ii^2 = [H_{i:,i:}^{-1}]_ii is the inverse
//     Hessian diagonal of that subproblem.
//  3. Columns are swept left to right in blocks of block_size. The mask is
//     chosen by the OBS saliency w^2 / U_ii^2 (SparseGPT's "w^2 / [H^-1]_ii^2"
//     with the Cholesky diagonal):
//      - unstructured: at the start of each block, per row, the lowest-scoring
//        weights of the block are pruned so that after the block the row has
//        pruned exactly PrunedPerRow(sparsity, block_end) weights (adaptive
//        mask selection; exact per-row counts over the whole layer);
//      - 4x1: the same per group of 4 rows, scoring a column by the sum of the
//        4 rows' saliencies (the group shares the mask);
//      - N:M: at the first column of each group of M = 4, per row, the M - N
//        lowest-scoring weights of the group (scores from the weights as
//        updated so far) are pruned.
//     Each column i is then fixed: a pruned weight becomes 0, a kept weight
//     becomes its int8 quantization q(w) (or stays w without quantization);
//     err = (w - q(w)) / U_ii is propagated to the rest of the block,
//     W[:, j] -= err * U_ij (j > i), and lazily, once per block, to all later
//     columns with one GEMM: W[:, end:] -= Err_block U[block, end:].
//  4. int8 scales (symmetric, per output channel) are fixed up front, as in
//     GPTQ, from max |w| of each row of W (after the dead-input step): for
//     unstructured and N:M this equals the max over the weights magnitude
//     pruning would keep (a row's largest weight is always kept). Updated
//     weights that outgrow the range are clamped to +-127.
//
// Precision: W, H, U and the sweep are double (fp64). The Cholesky factor of a
// damped calibration Hessian can have condition numbers beyond 1e6, where fp32
// loses the low bits that the error propagation relies on; fp64 costs ~2x
// time and the whole BERT-base layer still takes seconds.
//
// Ownership: inputs are borrowed only for the duration of a call; results are
// returned by value.
// Thread-safety: pure function (no shared state).
#ifndef FASTREL_ENGINE_COMPILE_OBS_H_
#define FASTREL_ENGINE_COMPILE_OBS_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/compile/compressed_layer.h"
#include "engine/compile/pattern.h"

namespace fastrel::compile {

struct ObsOptions {
  // Columns per block of the sweep (lazy-update granularity, and the window
  // of the adaptive mask selection). Must be >= 1; a multiple of 4 for N:M.
  int64_t block_size = 128;
  // Damping as a fraction of mean(diag H); finite and >= 0.
  double percdamp = 0.01;
  // When the damped H is not numerically positive definite, the damping is
  // multiplied by 10 (at least 1e-3) and retried up to this many times.
  int max_damping_retries = 4;
  Quantization quantization = Quantization::kNone;
  // Keep the mask the source weights already have instead of choosing one:
  // a weight is pruned exactly when it is 0 (4x1: a block of 4 rows in one
  // column, exactly when all 4 are 0). `sparsity` must then be absent and
  // the result's sparsity is the source's. For re-compiling a model that was
  // fine-tuned with its compiled mask fixed (tools/finetune). Unstructured
  // and 4x1 only (INVALID_ARGUMENT for N:M).
  bool keep_source_zeros = false;
};

struct ObsResult {
  CompressedLayer layer;
  // The damping fraction actually used (percdamp, or larger after retries).
  double damping_used = 0.0;
  // Number of dead inputs (H_ii == 0) found.
  int64_t dead_inputs = 0;
  // SparseGPT's running loss: sum over fixed weights of (w - q)^2 / (2 U_ii^2)
  // (the OBS estimate of the increase in the layer error; for reporting).
  double obs_loss = 0.0;
};

// Prunes (and optionally quantizes) the rows x cols row-major fp32 weight `w`
// given the cols x cols row-major Hessian `h` of its inputs (as from
// HessianAccumulator::Hessian(); symmetric positive semi-definite).
// `sparsity` follows ResolveSparsity. Errors: INVALID_ARGUMENT for bad shapes,
// sizes, sparsity or options, or non-finite w / h; FAILED_PRECONDITION when H
// stays not positive definite after all damping retries.
absl::StatusOr<ObsResult> PruneObs(absl::Span<const float> w, int64_t rows,
                                   int64_t cols, absl::Span<const double> h,
                                   Pattern pattern,
                                   std::optional<double> sparsity,
                                   const ObsOptions& options = {});

}  // namespace fastrel::compile

#endif  // FASTREL_ENGINE_COMPILE_OBS_H_
