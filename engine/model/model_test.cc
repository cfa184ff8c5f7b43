#include "engine/model/model.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

const char kDemo[] = FASTREL_SOURCE_DIR "/models/demo";
// See golden_encoder_test.cc.
constexpr double kGoldenLogitTol = 1e-4;

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("model_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* f : {"config.json", "model.safetensors", "vocab.txt",
                          "tokenizer_config.json"}) {
      fs::copy_file(fs::path(kDemo) / f, dir_ / f);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Overwrite(const std::string& name, const std::string& content) {
    fs::remove(dir_ / name);
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  // Loading fails and the message contains `what`.
  void ExpectLoadError(const std::string& what) {
    auto m = Model::Load(dir_.string());
    ASSERT_FALSE(m.ok()) << what;
    EXPECT_NE(m.status().message().find(what), std::string::npos) << m.status();
  }

  fs::path dir_;
};

TEST_F(ModelTest, LoadsDemoAndScoresLikeTheGolden) {
  auto m = Model::Load(kDemo);
  ASSERT_TRUE(m.ok()) << m.status();
  const Model& model = **m;
  EXPECT_EQ(model.dir(), kDemo);
  EXPECT_EQ(model.config().hidden_size, 256);
  EXPECT_EQ(model.max_seq_len(), 128);
  EXPECT_EQ(model.version().size(), 16u);
  // The bundled model ships the variants fastrel-search-variants found
  // (models/demo/variants.textproto): full first, then ever cheaper and less
  // accurate ones, all loaded without warnings.
  ASSERT_GE(model.variants().size(), 2u);
  EXPECT_TRUE(model.variant_warnings().empty());
  EXPECT_EQ(model.variants()[0].name, "full");
  EXPECT_TRUE(model.variants()[0].length.is_full());
  for (size_t i = 1; i < model.variants().size(); ++i) {
    const Variant& prev = model.variants()[i - 1];
    const Variant& v = model.variants()[i];
    EXPECT_FALSE(v.length.is_full()) << v.name;
    EXPECT_GT(v.auc, 0.5) << v.name;
    EXPECT_LE(v.auc, prev.auc) << v.name;
    EXPECT_LT(v.relative_cost, prev.relative_cost) << v.name;
  }
  ASSERT_NE(model.FindVariant("full"), nullptr);
  EXPECT_EQ(model.FindVariant("nope"), nullptr);
  EXPECT_EQ(model.encoder(*model.FindVariant("full")).Describe(), "fp32");

  // Text -> score end to end on the first golden pairs.
  std::ifstream in(FASTREL_SHARED_DIR "/golden/pairs.jsonl");
  std::string line;
  auto ws = model.encoder(model.variants()[0]).NewWorkspace();
  for (int i = 0; i < 8 && std::getline(in, line); ++i) {
    auto j = nlohmann::json::parse(line);
    EncodedPair e = model.tokenizer().EncodePair(
        j["query"].get<std::string>(), j["document"].get<std::string>(),
        model.max_seq_len(), 32);
    EXPECT_EQ(e.input_ids, j["input_ids"].get<std::vector<int32_t>>());
    PackedBatch b;
    b.Add(e.input_ids, e.token_type_ids);
    float logit = 0;
    ASSERT_TRUE(model.encoder(model.variants()[0])
                    .Forward(b, {}, ws.get(), {&logit, 1})
                    .ok());
    EXPECT_NEAR(logit, j["logit_full"].get<double>(), kGoldenLogitTol);
  }
}

TEST_F(ModelTest, VersionIsTheWeightsHash) {
  auto a = Model::Load(kDemo);
  auto b = Model::Load(dir_.string());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  // Same tensors, different bytes (extra metadata) -> a different version.
  std::ifstream src(dir_ / "model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(src)), {});
  bytes += std::string(4, '\0');  // trailing bytes outside every tensor
  Overwrite("model.safetensors", bytes);
  auto c = Model::Load(dir_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE((*a)->version(), (*c)->version());
}

TEST_F(ModelTest, MaxSeqLenOption) {
  auto m = Model::Load(kDemo, ModelLoadOptions{.max_seq_len = 64});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->max_seq_len(), 64);
  m = Model::Load(kDemo, ModelLoadOptions{.max_seq_len = 4096});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->max_seq_len(), 128);
  EXPECT_FALSE(Model::Load(kDemo, ModelLoadOptions{.max_seq_len = -1}).ok());
}

TEST_F(ModelTest, MissingVocab) {
  fs::remove(dir_ / "vocab.txt");
  ExpectLoadError("vocab.txt");
}

TEST_F(ModelTest, BadConfig) {
  Overwrite("config.json", "{\"model_type\": \"bert\",");
  ExpectLoadError("config.json");
  auto j =
      nlohmann::json::parse(std::ifstream(fs::path(kDemo) / "config.json"));
  j["hidden_size"] = 128;  // disagrees with the weights
  Overwrite("config.json", j.dump());
  ExpectLoadError("bert.embeddings.word_embeddings.weight");
  fs::remove(dir_ / "config.json");
  ExpectLoadError("config.json");
}

TEST_F(ModelTest, BadWeightsAndTokenizerConfig) {
  Overwrite("tokenizer_config.json", "not json");
  ExpectLoadError("tokenizer_config.json");
  fs::remove(dir_ / "tokenizer_config.json");  // optional
  EXPECT_TRUE(Model::Load(dir_.string()).ok());
  fs::resize_file(dir_ / "model.safetensors", 1000);
  ExpectLoadError("model.safetensors");
  fs::remove(dir_ / "model.safetensors");
  ExpectLoadError("model.safetensors");
}

}  // namespace
}  // namespace fastrel
