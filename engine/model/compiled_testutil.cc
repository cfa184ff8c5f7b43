#include "engine/model/compiled_testutil.h"

#include <utility>

#include "engine/compile/compressed_layer.h"
#include "engine/compile/magnitude.h"
#include "engine/model/bert_weights.h"
#include "engine/model/model_config.h"
#include "engine/model/safetensors.h"
#include "gtest/gtest.h"

namespace fastrel::testing {

BertParams LoadParams(const std::string& dir) {
  auto st = SafetensorsFile::Open(dir + "/model.safetensors");
  EXPECT_TRUE(st.ok()) << st.status();
  auto config = ModelConfig::FromFile(dir + "/config.json");
  EXPECT_TRUE(config.ok()) << config.status();
  auto params = LoadBertParams(**st, *config);
  EXPECT_TRUE(params.ok()) << params.status();
  return *std::move(params);
}

CompiledLinear CompileLinear(const LinearId& id, const DenseParams& d,
                             const std::string& format, double sparsity) {
  CompiledLinear cl;
  cl.id = id;
  cl.format = format;
  if (format == kFormatDenseFp32) return cl;
  const bool sparse = format == SparseFormatName(SparsePattern::kBlock4x1);
  absl::StatusOr<compile::CompressedLayer> q =
      sparse ? compile::PruneMagnitude(d.weight, d.out, d.in,
                                       compile::Pattern::k4x1, sparsity,
                                       compile::Quantization::kInt8)
             : compile::QuantizeDenseInt8(d.weight, d.out, d.in);
  EXPECT_TRUE(q.ok()) << q.status();
  cl.weights.in = d.in;
  cl.weights.out = d.out;
  cl.weights.scales = q->scales;
  cl.weights.static_act_scale = 0.05f;
  if (sparse) {
    auto packed = PackedSparseInt8::Pack(SparsePattern::kBlock4x1,
                                         q->qweight.data(), d.out, d.in);
    EXPECT_TRUE(packed.ok()) << packed.status();
    cl.weights.sparse.emplace(std::move(*packed));
    cl.sparsity = sparsity;
  } else {
    cl.weights.dense_q = q->qweight;
  }
  return cl;
}

}  // namespace fastrel::testing
