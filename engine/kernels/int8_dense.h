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
// Exactness and backends: with AVX-512 VNNI / AVX-VNNI / AMX, oneDNN
// accumulates exactly in int32. Without them (AVX2 or AVX-512 without VNNI)
// oneDNN 2.6's int8 matmul goes through vpmaddubsw and SATURATES s16 (checked
// on this machine with ONEDNN_MAX_CPU_ISA=AVX2: wrong sums already for random
// full-range s8 data, because oneDNN shifts s8 to u8). So kAuto picks oneDNN
// only on VNNI-class CPUs and otherwise our own exact AVX2 kernel
// (int8_dense_avx2.cc: sign trick vpmaddubsw(|x|, sign(w, x)), exact because
// |x| <= 128 and |w| <= 127; u8 activations are shifted to s8 and corrected
// by 128 * col_sum).
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

// Which implementation DenseInt8Gemm runs.
enum class DenseBackend {
  kAuto,    // oneDNN on VNNI/AMX CPUs, else kAvx2, else kRef
  kOneDnn,  // oneDNN matmul (inexact without VNNI; see above)
  kAvx2,    // own exact AVX2 kernel
  kRef,     // scalar reference
};

// Scalar reference: acc [m x n] = x [m x k] * wq^T, x of type `act`.
void DenseInt8GemmRef(const void* x, ActType act, int m, int k, int64_t ldx,
                      const int8_t* wq, int n, int32_t* acc, int64_t ldc);

class DenseInt8Gemm {
 public:
  // Copies wq [n x k] (row stride k) and builds the oneDNN primitive when
  // that backend is chosen. Errors: InvalidArgument (shape, null, -128),
  // FailedPrecondition (kAvx2 forced without AVX2), Internal (oneDNN
  // refused).
  static absl::StatusOr<DenseInt8Gemm> Create(
      const int8_t* wq, int n, int k, ActType act,
      DenseBackend backend = DenseBackend::kAuto);

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
  DenseBackend backend() const { return backend_; }
  // Implementation name (oneDNN's, e.g. "brg:avx512_core_vnni", or
  // "fastrel:avx2" / "fastrel:ref"), for logs and benchmarks.
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
  DenseBackend backend_ = DenseBackend::kRef;
  std::vector<int32_t> col_sum_;
  std::unique_ptr<Impl> impl_;  // constant after Create
};

namespace internal {
// Exact AVX2 kernel for s8 activations (no argument checks).
void DenseInt8GemmS8Avx2(const int8_t* x, int m, int k, int64_t ldx,
                         const int8_t* wq, int n, int32_t* acc, int64_t ldc);
}  // namespace internal

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_INT8_DENSE_H_
