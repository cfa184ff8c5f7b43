#include "engine/runtime/linear_op.h"

#include "engine/kernels/fp32_kernels.h"

namespace fastrel {

const char* LinearKindName(LinearKind kind) {
  switch (kind) {
    case LinearKind::kQuery:
      return "query";
    case LinearKind::kKey:
      return "key";
    case LinearKind::kValue:
      return "value";
    case LinearKind::kAttentionOutput:
      return "attention_output";
    case LinearKind::kIntermediate:
      return "intermediate";
    case LinearKind::kOutput:
      return "output";
    case LinearKind::kPooler:
      return "pooler";
    case LinearKind::kClassifier:
      return "classifier";
  }
  return "unknown";
}

void ApplyEpilogue(const float* bias, const LinearEpilogue& epi, float* y,
                   int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* yr = y + static_cast<long>(r) * cols;
    if (bias != nullptr) {
      for (int c = 0; c < cols; ++c) yr[c] += bias[c];
    }
    if (epi.activation == Activation::kGelu) GeluErf(yr, cols);
    if (epi.activation == Activation::kTanh) Tanh(yr, cols);
    if (epi.residual != nullptr) {
      const float* rr = epi.residual + static_cast<long>(r) * cols;
      for (int c = 0; c < cols; ++c) yr[c] += rr[c];
    }
  }
}

}  // namespace fastrel
