#include "engine/runtime/linear_op.h"

#include "absl/strings/str_cat.h"
#include "engine/kernels/fp32_kernels.h"
#include "engine/kernels/quantize.h"

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

const char* ActQuantName(ActQuant q) {
  switch (q) {
    case ActQuant::kNone:
      return "none";
    case ActQuant::kPerTokenSymmetricS8:
      return "per_token_symmetric_s8";
  }
  return "unknown";
}

absl::Status QuantizeActivations(ActQuant scheme, const float* x, int rows,
                                 int cols, int64_t ldx,
                                 const QuantizedRowsOut& out) {
  if (scheme != ActQuant::kPerTokenSymmetricS8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "QuantizeActivations: unsupported scheme ", ActQuantName(scheme)));
  }
  if (rows > 0 && out.scale == nullptr) {
    return absl::InvalidArgumentError("QuantizeActivations: null scale");
  }
  if (ldx > INT32_MAX || out.ld > INT32_MAX) {
    return absl::InvalidArgumentError("QuantizeActivations: stride too large");
  }
  return QuantizeRowsSymmetric(x, rows, cols, static_cast<int>(ldx), out.codes,
                               static_cast<int>(out.ld), out.scale);
}

absl::Status LinearOp::ForwardQuantized(const QuantizedRows&, int, float*,
                                        const LinearEpilogue&,
                                        LinearState*) const {
  return absl::UnimplementedError(
      absl::StrCat(Describe(), ": no quantized-input path"));
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
