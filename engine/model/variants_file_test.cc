#include "engine/model/variants_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fastrel {
namespace {

namespace fs = std::filesystem;

const char kDemo[] = FASTREL_SOURCE_DIR "/models/demo";
constexpr int kLayers = 4;  // the demo model's num_hidden_layers

// The golden length configs of the demo model.
const char kGoodFile[] = R"pb(
  # most accurate first
  variants { name: "full" auc: 0.9442 auc_data: "dev.tsv:16000" }
  variants {
    name: "lat-a"
    length { keep_ratios: [ 0.9, 0.8, 0.7, 0.6 ] }
    auc: 0.9419
    relative_cost: 0.7
  }
  variants {
    name: "lat-b"
    length { keep_ratios: [ 0.8, 0.65, 0.55, 0.5 ] }
  }
  variants {
    name: "lat-c"
    length { keep_ratios: [ 0.7, 0.5, 0.4, 0.3 ] }
  }
)pb";

std::vector<std::string> Names(const std::vector<Variant>& v) {
  std::vector<std::string> out;
  for (const Variant& x : v) out.push_back(x.name);
  return out;
}

// Exactly one warning, containing every string of `what`.
void ExpectOneWarning(const VariantsReadResult& r,
                      const std::vector<std::string>& what) {
  ASSERT_EQ(r.warnings.size(), 1u);
  for (const std::string& w : what) {
    EXPECT_NE(r.warnings[0].find(w), std::string::npos)
        << "warning \"" << r.warnings[0] << "\" lacks \"" << w << "\"";
  }
}

TEST(VariantsFileTest, ParsesAValidFileInOrder) {
  VariantsReadResult r = ParseVariants(kGoodFile, kLayers, "v.textproto");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(Names(r.variants),
            (std::vector<std::string>{"full", "lat-a", "lat-b", "lat-c"}));
  EXPECT_DOUBLE_EQ(r.variants[0].auc, 0.9442);
  EXPECT_EQ(r.variants[0].auc_data, "dev.tsv:16000");
  EXPECT_TRUE(r.variants[0].length.is_full());
  EXPECT_EQ(r.variants[1].length.keep_ratios,
            (std::vector<double>{0.9, 0.8, 0.7, 0.6}));
  EXPECT_DOUBLE_EQ(r.variants[1].auc, 0.9419);
  EXPECT_DOUBLE_EQ(r.variants[1].relative_cost, 0.7);
}

TEST(VariantsFileTest, FullIsAddedFirstWhenMissingAndMovedFirst) {
  VariantsReadResult r = ParseVariants(
      R"pb(variants {
             name: "lat-c"
             length { keep_ratios: [ 0.7, 0.5, 0.4, 0.3 ] }
           })pb",
      kLayers, "v");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "lat-c"}));
  EXPECT_DOUBLE_EQ(r.variants[0].relative_cost, 1.0);

  r = ParseVariants(
      R"pb(variants {
             name: "lat-c"
             length { keep_ratios: [ 0.7, 0.5, 0.4, 0.3 ] }
           }
           variants {
             name: "full"
             length { keep_ratios: [ 1, 1, 1, 1 ] }
             auc: 0.9
           })pb",
      kLayers, "v");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "lat-c"}));
  EXPECT_DOUBLE_EQ(r.variants[0].auc, 0.9);
  EXPECT_TRUE(r.variants[0].length.keep_ratios.empty());
}

TEST(VariantsFileTest, EmptyFileIsFullOnly) {
  VariantsReadResult r = ParseVariants("", kLayers, "v");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full"}));
}

TEST(VariantsFileTest, FileThatDoesNotParseKeepsFullOnly) {
  VariantsReadResult r = ParseVariants(
      "variants { name: \"lat-a\"\n  length { keep_ratios: [0.9, }\n}", kLayers,
      "dir/variants.textproto");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full"}));
  ExpectOneWarning(r, {"dir/variants.textproto", "does not parse", "line 2",
                       "built-in \"full\""});

  // An unknown field (e.g. a typo) is a parse error too.
  r = ParseVariants("variants { name: \"a\" keep_ratio: 0.5 }", kLayers, "v");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full"}));
  ExpectOneWarning(r, {"does not parse", "keep_ratio"});

  EXPECT_FALSE(ParseVariantList("variants {", "v").ok());
}

TEST(VariantsFileTest, NonMonotoneLengthIsSkippedOthersKept) {
  VariantsReadResult r = ParseVariants(
      R"pb(variants {
             name: "up"
             length { keep_ratios: [ 0.5, 0.6, 0.4, 0.3 ] }
           }
           variants {
             name: "lat-c"
             length { keep_ratios: [ 0.7, 0.5, 0.4, 0.3 ] }
           })pb",
      kLayers, "v");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "lat-c"}));
  ExpectOneWarning(r, {"variant \"up\" skipped", "non-increasing"});
}

TEST(VariantsFileTest, WrongLayerCountIsSkipped) {
  VariantsReadResult r = ParseVariants(
      R"pb(variants {
             name: "short"
             length { keep_ratios: [ 0.9, 0.8 ] }
           }
           variants { name: "ok" })pb",
      kLayers, "v");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "ok"}));
  ExpectOneWarning(r, {"\"short\"", "2 keep ratios", "4 layers"});
}

TEST(VariantsFileTest, RatiosOutsideZeroOneAreSkipped) {
  for (const char* ratios : {"[1.2, 0.8, 0.7, 0.6]", "[0.9, 0.8, 0.7, 0]",
                             "[0.9, 0.8, 0.7, -0.1]", "[nan, 0.5, 0.5, 0.5]"}) {
    VariantsReadResult r = ParseVariants(
        std::string("variants { name: \"bad\" length { keep_ratios: ") +
            ratios + " } }",
        kLayers, "v");
    EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full"})) << ratios;
    ExpectOneWarning(r, {"\"bad\"", "(0, 1]"});
  }
}

TEST(VariantsFileTest, BadNamesAndFieldsAreSkipped) {
  VariantsReadResult r = ParseVariants(
      R"pb(variants { name: "" }
           variants { name: "a" }
           variants { name: "a" auc: 0.5 }
           variants { name: "w" weights: "../int8" }
           variants { name: "auc" auc: 1.5 }
           variants { name: "cost" relative_cost: -1 }
           variants {
             name: "full"
             length { keep_ratios: [ 0.9, 0.8, 0.7, 0.6 ] }
           }
           variants { name: "b" })pb",
      kLayers, "v");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "a", "b"}));
  EXPECT_DOUBLE_EQ(r.variants[1].auc, 0);  // the first "a" wins
  ASSERT_EQ(r.warnings.size(), 6u);
  EXPECT_NE(r.warnings[0].find("variant #1 skipped: the name is empty"),
            std::string::npos);
  EXPECT_NE(r.warnings[1].find("\"a\" skipped: the name is used"),
            std::string::npos);
  EXPECT_NE(r.warnings[2].find("weights \"../int8\" is not a weights name"),
            std::string::npos);
  EXPECT_NE(r.warnings[3].find("auc 1.5"), std::string::npos);
  EXPECT_NE(r.warnings[4].find("relative_cost -1"), std::string::npos);
  EXPECT_NE(r.warnings[5].find("reserved for the full model"),
            std::string::npos);
}

TEST(VariantsFileTest, WeightsNamesArePathComponents) {
  for (const char* good : {"int8", "sparse-90", "A_b-9"}) {
    EXPECT_TRUE(IsValidWeightsName(good)) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."),
        std::string("a/b"), std::string("../x"), std::string(".hidden"),
        std::string("a b"), std::string("a\0b", 3),
        std::string(kMaxWeightsNameLength + 1, 'w')}) {
    EXPECT_FALSE(IsValidWeightsName(bad)) << bad;
  }
  EXPECT_TRUE(IsValidWeightsName(std::string(kMaxWeightsNameLength, 'w')));
  EXPECT_EQ(VariantWeightsDir("/m", "fast"), "/m/weights/fast");

  // A valid name is kept (Model::Load loads the set); "full" must stay on
  // the primary weights.
  VariantsReadResult r = ParseVariants(
      R"pb(variants { name: "full" weights: "fast" }
           variants {
             name: "fast"
             weights: "fast"
             length { keep_ratios: [ 0.9, 0.8, 0.7, 0.6 ] }
           })pb",
      kLayers, "v");
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full", "fast"}));
  EXPECT_EQ(r.variants[0].weights, "");
  EXPECT_EQ(r.variants[1].weights, "fast");
  ExpectOneWarning(r, {"\"full\" skipped", "primary weights"});
  EXPECT_EQ(VariantsToProto(r.variants).variants(1).weights(), "fast");
}

class VariantsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("variants_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& text) {
    std::ofstream(dir_ / kVariantsFileName, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(VariantsDirTest, AbsentFileIsFullOnlyWithoutWarning) {
  VariantsReadResult r = ReadVariantsFile(dir_.string(), kLayers);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(Names(r.variants), (std::vector<std::string>{"full"}));
}

TEST_F(VariantsDirTest, WriteThenReadRoundTrips) {
  VariantsReadResult a = ParseVariants(kGoodFile, kLayers, "v");
  ASSERT_TRUE(
      WriteVariantsFile(dir_.string(), VariantsToProto(a.variants)).ok());
  // Nothing but the file itself is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), {}), 1);
  VariantsReadResult b = ReadVariantsFile(dir_.string(), kLayers);
  EXPECT_TRUE(b.warnings.empty());
  ASSERT_EQ(Names(b.variants), Names(a.variants));
  for (size_t i = 0; i < a.variants.size(); ++i) {
    EXPECT_EQ(b.variants[i].length.keep_ratios,
              a.variants[i].length.keep_ratios);
    EXPECT_EQ(b.variants[i].auc, a.variants[i].auc);
    EXPECT_EQ(b.variants[i].auc_data, a.variants[i].auc_data);
    EXPECT_EQ(b.variants[i].relative_cost, a.variants[i].relative_cost);
  }
  EXPECT_FALSE(WriteVariantsFile((dir_ / "no" / "such").string(), {}).ok());
}

TEST_F(VariantsDirTest, ModelLoadUsesTheFileAndReportsProblems) {
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt",
                        "tokenizer_config.json"}) {
    fs::copy_file(fs::path(kDemo) / f, dir_ / f);
  }
  Write(std::string(kGoodFile) +
        "variants { name: \"bad\" length { keep_ratios: [0.5] } }");
  auto m = Model::Load(dir_.string());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Names((*m)->variants()),
            (std::vector<std::string>{"full", "lat-a", "lat-b", "lat-c"}));
  ASSERT_EQ((*m)->variant_warnings().size(), 1u);
  EXPECT_NE((*m)->variant_warnings()[0].find("\"bad\""), std::string::npos);
  const Variant* lat_b = (*m)->FindVariant("lat-b");
  ASSERT_NE(lat_b, nullptr);
  EXPECT_EQ(lat_b->length.keep_ratios,
            (std::vector<double>{0.8, 0.65, 0.55, 0.5}));
  EXPECT_EQ((*m)->FindVariant("lat-z"), nullptr);

  Write("this is not a variant list");
  m = Model::Load(dir_.string());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Names((*m)->variants()), (std::vector<std::string>{"full"}));
  ASSERT_EQ((*m)->variant_warnings().size(), 1u);
  EXPECT_NE((*m)->variant_warnings()[0].find("does not parse"),
            std::string::npos);
}

}  // namespace
}  // namespace fastrel
