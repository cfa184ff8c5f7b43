#include "engine/compile/compressed_layer.h"

#include <cmath>

namespace fastrel::compile {

float Int8Scale(double max_abs) {
  if (!(max_abs > 0.0) || !std::isfinite(max_abs)) return 1.0f;
  const float s = static_cast<float>(max_abs / kInt8Max);
  // A subnormal max_abs could round the scale to zero; keep it positive.
  return s > 0.0f ? s : 1.0f;
}

int8_t QuantizeInt8(double w, float scale) {
  double q = std::round(w / static_cast<double>(scale));
  if (!(q >= -kInt8Max)) q = -kInt8Max;  // also maps NaN to -127
  if (q > kInt8Max) q = kInt8Max;
  return static_cast<int8_t>(q);
}

}  // namespace fastrel::compile
