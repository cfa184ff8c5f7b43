#include "engine/compile/layer_sparsity.h"

#include <string>

#include "gtest/gtest.h"

namespace fastrel::compile {
namespace {

TEST(LayerSparsityTest, EmptySpecHasNoOverrides) {
  for (const char* s : {"", "  "}) {
    absl::StatusOr<LayerSparsitySpec> p = ParseLayerSparsity(s);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE(p->empty());
    EXPECT_EQ(p->Resolve(0, "query", 0.8), 0.8);
    EXPECT_EQ(p->Resolve(2, "output", std::nullopt), std::nullopt);
  }
}

TEST(LayerSparsityTest, MostSpecificSelectorWins) {
  absl::StatusOr<LayerSparsitySpec> p = ParseLayerSparsity(
      " query=0.5, key = dense ,intermediate=0.85,3.*=0.9,3.key=0.95,"
      "1.value=0.7");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->rules.size(), 6u);
  EXPECT_TRUE(p->Validate(4).ok());
  // KIND over the default.
  EXPECT_EQ(p->Resolve(0, "query", 0.8), 0.5);
  EXPECT_EQ(p->Resolve(0, "key", 0.8), std::nullopt);  // dense
  EXPECT_EQ(p->Resolve(2, "intermediate", 0.8), 0.85);
  // Not named anywhere: the default.
  EXPECT_EQ(p->Resolve(0, "output", 0.8), 0.8);
  EXPECT_EQ(p->Resolve(0, "value", 0.8), 0.8);
  // LAYER.KIND over KIND, only in that layer.
  EXPECT_EQ(p->Resolve(1, "value", 0.8), 0.7);
  EXPECT_EQ(p->Resolve(2, "value", 0.8), 0.8);
  // LAYER.* over KIND; LAYER.KIND over LAYER.*.
  EXPECT_EQ(p->Resolve(3, "query", 0.8), 0.9);
  EXPECT_EQ(p->Resolve(3, "intermediate", 0.8), 0.9);
  EXPECT_EQ(p->Resolve(3, "output", 0.8), 0.9);
  EXPECT_EQ(p->Resolve(3, "key", 0.8), 0.95);
}

TEST(LayerSparsityTest, ParseErrorsNameTheProblem) {
  struct Case {
    const char* spec;
    const char* needle;
  };
  for (const Case& c : {
           Case{"qk=0.5", "unknown linear kind 'qk'"},
           Case{"3.attention=0.5", "unknown linear kind 'attention'"},
           Case{"query", "want SELECTOR=VALUE"},
           Case{"query=0", "open interval (0, 1)"},
           Case{"query=1", "open interval (0, 1)"},
           Case{"query=1.5", "open interval (0, 1)"},
           Case{"query=-0.2", "open interval (0, 1)"},
           Case{"query=abc", "not a number or 'dense'"},
           Case{"query=nan", "not a number or 'dense'"},
           Case{"query=", "not a number or 'dense'"},
           Case{"x.query=0.5", "layer index 'x'"},
           Case{"-1.query=0.5", "layer index '-1'"},
           Case{".query=0.5", "layer index ''"},
           Case{"*=0.5", "'*' needs a layer index"},
           Case{"query=0.5,query=0.6", "given more than once"},
           Case{"2.key=0.5, 2.key=dense", "given more than once"},
           Case{"query=0.5,,key=0.5", "empty item"},
           Case{"query=0.5,", "empty item"},
       }) {
    absl::StatusOr<LayerSparsitySpec> p = ParseLayerSparsity(c.spec);
    ASSERT_FALSE(p.ok()) << c.spec;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(p.status().message()).find(c.needle),
              std::string::npos)
        << c.spec << " -> " << p.status();
    EXPECT_NE(std::string(p.status().message()).find("--layer_sparsity"),
              std::string::npos);
  }
}

TEST(LayerSparsityTest, ValidateRejectsLayersTheModelLacks) {
  absl::StatusOr<LayerSparsitySpec> p = ParseLayerSparsity("query=0.5,4.*=0.9");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Validate(5).ok());
  absl::Status s = p->Validate(4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("layer 4 does not exist"),
            std::string::npos)
      << s;
  EXPECT_NE(std::string(s.message()).find("4 layers"), std::string::npos) << s;
}

TEST(LayerSparsityTest, OverallSparsityIsParameterWeighted) {
  EXPECT_EQ(OverallSparsity({}), 0.0);
  EXPECT_EQ(OverallSparsity({{0, 0.5}}), 0.0);
  // One BERT layer at H = 4: Q,K,V,AO are H^2 = 16 weights, FFN in/out are
  // 4H^2 = 64. Q/K dense, V/AO at 0.8, FFN at 0.9:
  // (2*16*0 + 2*16*0.8 + 2*64*0.9) / (4*16 + 2*64) = 140.8 / 192.
  const double got = OverallSparsity(
      {{16, 0}, {16, 0}, {16, 0.8}, {16, 0.8}, {64, 0.9}, {64, 0.9}});
  EXPECT_DOUBLE_EQ(got, 140.8 / 192.0);
  // Not the plain mean of the six sparsities (0.5667).
  EXPECT_GT(got, 0.7);
}

}  // namespace
}  // namespace fastrel::compile
