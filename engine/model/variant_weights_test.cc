// Variant weights: Model::Load loading weights/NAME/ for the variants that
// name it, running them on that encoder, and skipping (with a warning) only
// the variants whose set does not load. Real files, real encoders.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/model/compiled_model.h"
#include "engine/model/compiled_testutil.h"
#include "engine/model/model.h"
#include "engine/model/safetensors.h"
#include "engine/model/variants_file.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

constexpr char kDemo[] = FASTREL_SOURCE_DIR "/models/demo";
constexpr int kPairs = 16;  // golden pairs scored per check

// The demo model's linears as dense int8 (sparsity 0) or 4x1 magnitude-pruned
// int8 at `sparsity`.
CompiledModelContents Contents(double sparsity) {
  CompiledModelContents c;
  c.params = testing::LoadParams(kDemo);
  const std::string format = sparsity > 0
                                 ? SparseFormatName(SparsePattern::kBlock4x1)
                                 : std::string(kFormatDenseInt8);
  for (int l = 0; l < c.params.dims.num_layers; ++l) {
    for (LinearKind kind : kEncoderLinearKinds) {
      c.linears.push_back(testing::CompileLinear(
          {l, kind}, c.params.layers[l].linear(kind), format, sparsity));
    }
  }
  return c;
}

fastrel::v1::CompiledModelInfo Info(const std::string& source_checksum) {
  fastrel::v1::CompiledModelInfo info;
  info.set_created_by("variant_weights_test");
  info.set_source_checksum(source_checksum);
  info.set_pattern("4x1");
  info.set_method("magnitude");
  info.set_quantize("int8");
  info.set_activation_quantization("dynamic_per_token");
  return info;
}

std::string DemoChecksum() {
  auto st = SafetensorsFile::Open(std::string(kDemo) + "/model.safetensors");
  EXPECT_TRUE(st.ok()) << st.status();
  return Fnv1a64Hex((*st)->bytes());
}

PackedBatch GoldenBatch() {
  std::ifstream in(FASTREL_SHARED_DIR "/golden/pairs.jsonl");
  EXPECT_TRUE(in);
  PackedBatch batch;
  std::string line;
  while (batch.num_sequences() < kPairs && std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    std::vector<int32_t> ids = j["input_ids"], types = j["token_type_ids"];
    batch.Add(ids, types);
  }
  return batch;
}

std::vector<float> Score(const Encoder& enc, const LengthConfig& length,
                         const PackedBatch& batch) {
  auto ws = enc.NewWorkspace();
  std::vector<float> out(batch.num_sequences());
  absl::Status s = enc.Forward(batch, length, ws.get(), out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::vector<std::string> Names(const Model& m) {
  std::vector<std::string> out;
  for (const Variant& v : m.variants()) out.push_back(v.name);
  return out;
}

class VariantWeightsTest : public ::testing::Test {
 protected:
  // root/sets/sparse50: a compiled model of the demo source (4x1 50%), written
  // once; root/other: the same weights claiming another source model.
  static void SetUpTestSuite() {
    root_ = new std::string(::testing::TempDir() + "/variant_weights_test");
    fs::remove_all(*root_);
    fs::create_directories(*root_);
    checksum_ = new std::string(DemoChecksum());
    const CompiledModelContents sparse = Contents(0.5);
    // Written below a directory that does not exist yet (created, as for
    // `fastrel-compile --output <model>/weights/NAME`).
    ASSERT_TRUE(WriteCompiledModel(kDemo, *root_ + "/sets/sparse50", sparse,
                                   Info(*checksum_))
                    .ok());
    ASSERT_TRUE(WriteCompiledModel(kDemo, *root_ + "/other", sparse,
                                   Info("0123456789abcdef"))
                    .ok());
    // Compiled from a fine-tuned copy of the demo (tools/finetune): another
    // source, whose base is the demo.
    fastrel::v1::CompiledModelInfo tuned = Info("fedcba9876543210");
    tuned.set_base_source_checksum(*checksum_);
    ASSERT_TRUE(
        WriteCompiledModel(kDemo, *root_ + "/tuned", sparse, tuned).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete checksum_;
  }

  // A fresh compiled dense-int8 model directory `name` with `variants` as
  // its variants.textproto and weights/sparse = root/sparse50.
  std::string Primary(const std::string& name, const std::string& variants) {
    const std::string dir = *root_ + "/" + name;
    fs::remove_all(dir);
    EXPECT_TRUE(
        WriteCompiledModel(kDemo, dir, Contents(0), Info(*checksum_)).ok());
    AddSet(dir, "sparse", "sets/sparse50");
    std::ofstream(dir + "/" + kVariantsFileName) << variants;
    return dir;
  }
  // Copies root/`from` to dir/weights/`name`.
  static void AddSet(const std::string& dir, const std::string& name,
                     const std::string& from) {
    fs::create_directories(dir + "/weights");
    fs::copy(*root_ + "/" + from, VariantWeightsDir(dir, name),
             fs::copy_options::recursive);
  }

  static std::string* root_;
  static std::string* checksum_;
};
std::string* VariantWeightsTest::root_ = nullptr;
std::string* VariantWeightsTest::checksum_ = nullptr;

TEST_F(VariantWeightsTest, VariantsRunOnTheirOwnWeights) {
  const std::string dir = Primary("good", R"pb(
    variants { name: "full" }
    variants { name: "sparse" weights: "sparse" }
    variants {
      name: "sparse-drop"
      weights: "sparse"
      length { keep_ratios: [ 0.9, 0.7, 0.5, 0.5 ] }
    }
    variants {
      name: "drop"
      length { keep_ratios: [ 0.9, 0.7, 0.5, 0.5 ] }
    })pb");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& m = **model;
  EXPECT_TRUE(m.variant_warnings().empty()) << m.variant_warnings()[0];
  ASSERT_EQ(Names(m), (std::vector<std::string>{"full", "sparse", "sparse-drop",
                                                "drop"}));
  const Encoder& primary = m.encoder(m.variants()[0]);
  const Encoder& sparse = m.encoder(m.variants()[1]);
  EXPECT_NE(&sparse, &primary);
  EXPECT_EQ(&m.encoder(m.variants()[2]), &sparse);  // loaded once
  EXPECT_EQ(&m.encoder(m.variants()[3]), &primary);
  EXPECT_EQ(m.version(), ReadCompiledModelInfo(dir)->weights_checksum());

  // The set scores exactly as the same directory loaded on its own, and not
  // as the primary weights.
  auto alone = LoadCompiledModel(VariantWeightsDir(dir, "sparse"), m.config());
  ASSERT_TRUE(alone.ok()) << alone.status();
  const PackedBatch batch = GoldenBatch();
  for (int v : {1, 2}) {
    const LengthConfig& length = m.variants()[v].length;
    EXPECT_EQ(Score(sparse, length, batch),
              Score(*alone->encoder, length, batch))
        << m.variants()[v].name;
  }
  const std::vector<float> a = Score(primary, {}, batch);
  const std::vector<float> b = Score(sparse, {}, batch);
  double max_delta = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_delta = std::max(max_delta, std::abs(double{a[i]} - b[i]));
  }
  EXPECT_GT(max_delta, 1e-3);  // 50% pruning moves the logits
}

TEST_F(VariantWeightsTest, BadSetsSkipOnlyTheirVariants) {
  const std::string dir = Primary("bad", R"pb(
    variants { name: "gone" weights: "missing" }
    variants { name: "gone-too" weights: "missing" }
    variants { name: "foreign" weights: "other" }
    variants { name: "broken" weights: "truncated" }
    variants { name: "ok" weights: "sparse" })pb");
  AddSet(dir, "other", "other");
  AddSet(dir, "truncated", "sets/sparse50");
  const std::string w =
      VariantWeightsDir(dir, "truncated") + "/" + kCompiledWeightsFile;
  fs::resize_file(w, fs::file_size(w) / 2);

  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& m = **model;
  EXPECT_EQ(Names(m), (std::vector<std::string>{"full", "ok"}));
  const std::vector<std::string>& warnings = m.variant_warnings();
  ASSERT_EQ(warnings.size(), 4u);
  const std::vector<std::vector<std::string>> want = {
      {"\"gone\" skipped", "\"missing\"", "holds no compiled model"},
      {"\"gone-too\" skipped", "\"missing\"", "holds no compiled model"},
      {"\"foreign\" skipped", "\"other\"", "compiled from another model",
       "0123456789abcdef"},
      {"\"broken\" skipped", "\"truncated\"", kCompiledWeightsFile}};
  for (size_t i = 0; i < want.size(); ++i) {
    for (const std::string& part : want[i]) {
      EXPECT_NE(warnings[i].find(part), std::string::npos)
          << "warning \"" << warnings[i] << "\" lacks \"" << part << "\"";
    }
  }
  EXPECT_NE(&m.encoder(m.variants()[1]), &m.encoder(m.variants()[0]));
}

TEST_F(VariantWeightsTest, FineTunedSetsBelongToTheirBase) {
  const std::string dir = Primary("lineage", R"pb(
    variants { name: "tuned" weights: "tuned" }
    variants { name: "foreign" weights: "other" })pb");
  AddSet(dir, "tuned", "tuned");
  AddSet(dir, "other", "other");
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(Names(**model), (std::vector<std::string>{"full", "tuned"}));
  ASSERT_EQ((*model)->variant_warnings().size(), 1u);
  EXPECT_NE((*model)->variant_warnings()[0].find("\"foreign\" skipped"),
            std::string::npos);
}

TEST_F(VariantWeightsTest, Fp32ModelWithCompiledVariantWeights) {
  // An HF (fp32) primary: its source is itself, so a compiled set of it fits.
  const std::string dir = *root_ + "/hf";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"config.json", "vocab.txt", "model.safetensors"}) {
    fs::copy(std::string(kDemo) + "/" + f, dir + "/" + f);
  }
  AddSet(dir, "sparse", "sets/sparse50");
  std::ofstream(dir + "/" + kVariantsFileName) << R"pb(
    variants { name: "int8" weights: "sparse" })pb";
  auto model = Model::Load(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->variant_warnings().empty());
  ASSERT_EQ(Names(**model), (std::vector<std::string>{"full", "int8"}));
  EXPECT_NE((*model)->encoder((*model)->variants()[1]).Describe(),
            (*model)->encoder((*model)->variants()[0]).Describe());
}

}  // namespace
}  // namespace fastrel
