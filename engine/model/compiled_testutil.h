// Test-only helpers for compiled models built in memory from the demo
// model (models/demo): its fp32 params and per-linear compilation into the
// formats WriteCompiledModel stores, without OBS or calibration.
//
// Thread safety: free functions without shared state.
#ifndef FASTREL_ENGINE_MODEL_COMPILED_TESTUTIL_H_
#define FASTREL_ENGINE_MODEL_COMPILED_TESTUTIL_H_

#include <string>

#include "engine/model/compiled_model.h"

namespace fastrel::testing {

// The fp32 params of the Hugging Face model in `dir` (gtest failure on
// error).
BertParams LoadParams(const std::string& dir);

// Encoder linear `id` with weights `d` in `format`: kFormatDenseFp32 (the
// weights stay in the params), kFormatDenseInt8 (per-channel round to
// nearest) or the 4x1 sparse format, magnitude-pruned at `sparsity` and
// quantized. int8 formats get static_act_scale 0.05.
CompiledLinear CompileLinear(const LinearId& id, const DenseParams& d,
                             const std::string& format, double sparsity = 0);

}  // namespace fastrel::testing

#endif  // FASTREL_ENGINE_MODEL_COMPILED_TESTUTIL_H_
