// Dense int8 GEMM for layers left dense (and for unstructured sparsity):
//   acc[m][n] = sum_k x[m][k] * Wq[n][k]   (exact int32)
// with x s8 (symmetric activations) or u8 (asymmetric, zero point handled by
// the Epilogue through col_sums()), Wq s8 [N x K] in [-127, 127], computed by
// a cached oneDNN matmul primitive (M is DNNL_RUNTIME_DIM_VAL, so one
// primitive serves every batch size; int32 destination, user scratchpad),
// followed by the fused Epilogue (epilogue.h) per panel of rows.
//
// Why int32 out of oneDNN and our epilogue: oneDNN 2.6 matmul output scales
// are per-N only, so the per-token activation scale cannot be folded into
// them before the bias; the int32 panel stays in L2 and the same epilogue code
// (bit-identical to its reference) serves sparse and dense layers.
// Exactness: with AVX-512 VNNI (or AMX) oneDNN accumulates exactly in int32.
// On AVX2-only CPUs oneDNN's u8 x s8 path goes through vpmaddubsw and can
// saturate s16 for |x| large (u8 near 255 with |w| near 127 in adjacent k);
// s8 activations are converted by oneDNN with compensation and are exact.
// (This AMD EPYC test machine has VNNI, so tests compare exactly.)
//
// Threading: one OpenMP thread is assumed (the worker calls
// omp_set_num_threads(1)); the object is immutable after Create and Run is
// const and reentrant (thread-local scratchpad), so several workers may share
// one instance.
#ifndef FASTREL_ENGINE_KERNELS_INT8_DENSE_H_
#define FASTREL_ENGINE_KERNELS_INT8_DENSE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/kernels/epilogue.h"

namespace fastrel {

enum class ActType { kS8, kU8 };

// Scalar reference: acc [m x n] = x [m x k] * wq^T, x of type `act`.
void DenseInt8GemmRef(const void* x, ActType act, int m, int k, int64_t ldx,
                      const int8_t* wq, int n, int32_t* acc, int64_t ldc);

class DenseInt8Gemm {
 public:
  // Copies wq [n x k] (row stride k) and builds the oneDNN primitive.
  // Errors: InvalidArgument (shape, null, -128), Internal (oneDNN refused).
  static absl::StatusOr<DenseInt8Gemm> Create(const int8_t* wq, int n, int k,
                                              ActType act);

  // acc [m x n] (row stride ldc) = x [m x k] (row stride ldx) * Wq^T.
  absl::Status RunInt32(const void* x, int m, int64_t ldx, int32_t* acc,
                        int64_t ldc) const;
  // Same GEMM, then `ep` applied per panel of kPanelRows rows.
  absl::Status Run(const void* x, int m, int64_t ldx, const Epilogue& ep,
                   KernelIsa isa = KernelIsa::kAuto) const;

  int n() const { return n_; }
  int k() const { return k_; }
  ActType act() const { return act_; }
  // sum_k Wq[n][k] (for Epilogue::weight_col_sum with u8 activations).
  const std::vector<int32_t>& col_sums() const { return col_sum_; }
  // oneDNN implementation name (e.g. "gemm:jit"), for logs and benchmarks.
  const std::string& impl_name() const;

  static constexpr int kPanelRows = 256;

  DenseInt8Gemm(DenseInt8Gemm&&) noexcept;
  DenseInt8Gemm& operator=(DenseInt8Gemm&&) noexcept;
  ~DenseInt8Gemm();

 private:
  struct Impl;
  DenseInt8Gemm() = default;

  int n_ = 0, k_ = 0;
  ActType act_ = ActType::kS8;
  std::vector<int32_t> col_sum_;
  std::unique_ptr<Impl> impl_;  // constant after Create
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_INT8_DENSE_H_
