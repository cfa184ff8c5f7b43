#include "engine/model/model_config.h"

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

nlohmann::json Good() {
  return nlohmann::json::parse(R"({
    "model_type": "bert", "vocab_size": 100, "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
    "max_position_embeddings": 16, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "hidden_act": "gelu", "num_labels": 1})");
}

// The error for `j`, which must name `source` and `field`.
void ExpectError(const nlohmann::json& j, const std::string& field) {
  auto c = ModelConfig::FromJson(j.dump(), "dir/config.json");
  ASSERT_FALSE(c.ok()) << field;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("dir/config.json"), std::string::npos)
      << c.status();
  EXPECT_NE(c.status().message().find(field), std::string::npos) << c.status();
}

TEST(ModelConfigTest, ParsesGoodConfig) {
  auto c = ModelConfig::FromJson(Good().dump(), "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vocab_size, 100);
  EXPECT_EQ(c->hidden_size, 32);
  EXPECT_EQ(c->num_hidden_layers, 2);
  EXPECT_EQ(c->num_attention_heads, 4);
  EXPECT_EQ(c->head_dim(), 8);
  EXPECT_EQ(c->intermediate_size, 64);
  EXPECT_EQ(c->max_position_embeddings, 16);
  EXPECT_EQ(c->type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c->layer_norm_eps, 1e-12);
}

TEST(ModelConfigTest, DefaultsForOptionalFields) {
  nlohmann::json j = Good();
  j.erase("type_vocab_size");
  j.erase("layer_norm_eps");
  j.erase("num_labels");
  j.erase("hidden_act");
  j["layer_norm_eps"] = 1e-5;
  auto c = ModelConfig::FromJson(j.dump(), "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type_vocab_size, 2);
  EXPECT_EQ(c->num_labels, 1);
  EXPECT_DOUBLE_EQ(c->layer_norm_eps, 1e-5);
}

TEST(ModelConfigTest, ReadsTheDemoModel) {
  auto c = ModelConfig::FromFile(FASTREL_SOURCE_DIR "/models/demo/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 256);
  EXPECT_EQ(c->num_hidden_layers, 4);
}

TEST(ModelConfigTest, EachErrorNamesFileAndField) {
  for (const char* field :
       {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "max_position_embeddings"}) {
    nlohmann::json j = Good();
    j.erase(field);
    ExpectError(j, field);  // missing
    j[field] = 0;
    ExpectError(j, field);  // non-positive
    j[field] = "12";
    ExpectError(j, field);  // not an integer
  }
  nlohmann::json j = Good();
  j["hidden_size"] = 30;  // not divisible by 4 heads
  ExpectError(j, "hidden_size");
  j = Good();
  j["num_labels"] = 2;
  ExpectError(j, "num_labels");
  j = Good();
  j["hidden_act"] = "relu";
  ExpectError(j, "hidden_act");
  j = Good();
  j["model_type"] = "gpt2";
  ExpectError(j, "model_type");
  j = Good();
  j["layer_norm_eps"] = -1;
  ExpectError(j, "layer_norm_eps");
  j = Good();
  j["type_vocab_size"] = -2;
  ExpectError(j, "type_vocab_size");
}

TEST(ModelConfigTest, MalformedJsonAndMissingFile) {
  auto c = ModelConfig::FromJson("{\"vocab_size\": 12,", "a/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("a/config.json"), std::string::npos);
  EXPECT_NE(c.status().message().find("malformed JSON"), std::string::npos);
  c = ModelConfig::FromJson("[1, 2]", "a/config.json");
  EXPECT_FALSE(c.ok());
  c = ModelConfig::FromFile(::testing::TempDir() + "/no/such/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("no/such/config.json"),
            std::string::npos);
}

}  // namespace
}  // namespace fastrel
