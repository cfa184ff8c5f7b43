// fp32 LinearOp on oneDNN matmul (the reference implementation of the
// LinearOp interface and the weights of the "fp32" encoder).
#ifndef FASTREL_ENGINE_RUNTIME_FP32_LINEAR_H_
#define FASTREL_ENGINE_RUNTIME_FP32_LINEAR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/runtime/linear_op.h"

namespace fastrel {

// A LinearOp computing x * W^T + b in fp32 with one oneDNN matmul primitive
// whose M (rows) is a run-time dimension, so one primitive serves every batch
// size. The weights are reordered once, at construction, into the layout the
// primitive prefers. Each LinearState holds its own primitive instance and
// scratchpad (user scratchpad mode), so workers share no mutable state.
// oneDNN's OpenMP runtime uses the calling thread's OpenMP thread count, and
// a primitive keeps the count it was created with: NewFp32Linear and
// NewState set omp_set_num_threads(1) on the calling thread (as does
// Encoder::Forward), so every matmul runs on the worker's thread alone.
// Fails with INVALID_ARGUMENT on inconsistent params and INTERNAL when oneDNN
// rejects the shape.
absl::StatusOr<std::unique_ptr<LinearOp>> NewFp32Linear(
    const DenseParams& params);

// A LinearFactory that makes every layer an fp32 linear.
LinearFactory Fp32LinearFactory();

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_FP32_LINEAR_H_
