// ExportCompiledAsHf on the bundled compiled model: the exported fp32 weights
// are exactly the served int8 weights dequantized (zeros where pruned), the
// directory loads as a Hugging Face model, and it carries its lineage.
#include "engine/model/hf_export.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/model/compiled_model.h"
#include "engine/model/model.h"
#include "engine/model/model_config.h"
#include "engine/model/safetensors.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

constexpr char kCompiled[] = FASTREL_SOURCE_DIR "/models/demo-4x1-80";

class HfExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = ::testing::TempDir() + "/hf_export_test/out";
    fs::remove_all(fs::path(out_).parent_path());
  }
  void TearDown() override { fs::remove_all(fs::path(out_).parent_path()); }
  std::string out_;
};

TEST_F(HfExportTest, WeightsAreTheServedOnesDequantized) {
  ASSERT_TRUE(ExportCompiledAsHf(kCompiled, out_).ok());
  auto config = ModelConfig::FromFile(std::string(kCompiled) + "/config.json");
  ASSERT_TRUE(config.ok());
  auto compiled = ReadCompiledModel(kCompiled, *config);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  auto st = SafetensorsFile::Open(out_ + "/model.safetensors");
  ASSERT_TRUE(st.ok()) << st.status();
  // The root of the lineage: the bundled model was itself compiled from a
  // fine-tuned copy of models/demo, so its base, not its direct source.
  ASSERT_FALSE(compiled->info.base_source_checksum().empty());
  EXPECT_EQ((*st)->metadata().at(kBaseSourceChecksumKey),
            compiled->info.base_source_checksum());

  int64_t zeros = 0, weights = 0;
  for (const auto& [key, w] : compiled->int8_linears) {
    const LinearId id{key.first, static_cast<LinearKind>(key.second)};
    const std::string name = LinearTensorPrefix(id) + ".weight";
    SCOPED_TRACE(name);
    const std::vector<int64_t> shape = {w.out, w.in};
    auto got = (*st)->ReadFloat(name, shape);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(w.sparse.has_value());
    const std::vector<int8_t> q = w.sparse->ToDense();
    for (size_t i = 0; i < q.size(); ++i) {
      ASSERT_EQ((*got)[i], w.scales[i / w.in] * static_cast<float>(q[i]));
    }
    for (float v : *got) zeros += v == 0.0f;
    weights += static_cast<int64_t>(got->size());
  }
  EXPECT_EQ(compiled->int8_linears.size(), 24u);
  // The bundled model is 80.13% sparse; int8 rounding zeros a few more.
  EXPECT_GE(static_cast<double>(zeros) / weights,
            compiled->info.encoder_sparsity());

  // Word embeddings: row r = scale[r] * q[r].
  const EncoderDims& d = compiled->params.dims;
  auto words =
      (*st)->ReadFloat("bert.embeddings.word_embeddings.weight",
                       std::vector<int64_t>{d.vocab_size, d.hidden_size});
  ASSERT_TRUE(words.ok());
  const size_t i = 1000 * d.hidden_size + 7;
  EXPECT_EQ((*words)[i], compiled->params.word_embedding_scale[1000] *
                             compiled->params.word_embeddings_i8[i]);

  // It is a Hugging Face model fastrel itself loads (fp32: its version is
  // the hash of model.safetensors).
  auto model = Model::Load(out_);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->version(), Fnv1a64Hex((*st)->bytes()));
}

TEST_F(HfExportTest, Errors) {
  fs::create_directories(out_);
  std::ofstream(out_ + "/keep.txt") << "x";
  absl::Status s = ExportCompiledAsHf(kCompiled, out_);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_NE(s.message().find(out_), std::string::npos) << s;
  // Not a compiled model: the fp32 demo has no fastrel_model.textproto.
  s = ExportCompiledAsHf(FASTREL_SOURCE_DIR "/models/demo", out_ + "2");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fastrel_model.textproto"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace fastrel
