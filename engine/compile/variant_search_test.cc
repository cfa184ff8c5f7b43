#include "engine/compile/variant_search.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/data/labeled_pairs.h"
#include "engine/data/metrics.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

const char kModelDir[] = FASTREL_SOURCE_DIR "/models/demo";
const char kDev[] = FASTREL_SHARED_DIR "/data/dev.tsv";

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/variant_search_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The first `rows` data lines of dev.tsv (with the header) as a new file.
std::string DevHead(const std::string& dir, int rows) {
  std::ifstream in(kDev);
  const std::string path = dir + "/head.tsv";
  std::ofstream out(path);
  std::string line;
  for (int i = 0; i <= rows && std::getline(in, line); ++i) out << line << "\n";
  return path;
}

// AUC of `length` on `path` scored the way fastrel-eval does: batches of 32
// in file order, query cut to 32 tokens.
double IndependentAuc(const Model& model, const std::string& path,
                      const LengthConfig& length) {
  ReadPairsOptions read;
  read.require_labels = true;
  auto pairs = ReadLabeledPairs(path, read);
  EXPECT_TRUE(pairs.ok());
  const Encoder& encoder = model.encoder(model.variants()[0]);
  auto ws = encoder.NewWorkspace();
  std::vector<float> scores;
  std::vector<int> labels;
  for (size_t start = 0; start < pairs->size(); start += 32) {
    PackedBatch batch;
    for (size_t i = start; i < std::min(pairs->size(), start + 32); ++i) {
      EncodedPair e = model.tokenizer().EncodePair(
          (*pairs)[i].query, (*pairs)[i].document, model.max_seq_len(), 32);
      batch.Add(e.input_ids, e.token_type_ids);
      labels.push_back((*pairs)[i].label);
    }
    std::vector<float> out(batch.num_sequences());
    EXPECT_TRUE(encoder.Forward(batch, length, ws.get(), out).ok());
    scores.insert(scores.end(), out.begin(), out.end());
  }
  auto auc = Auc(scores, labels);
  EXPECT_TRUE(auc.ok());
  return *auc;
}

SearchOptions SmallOptions(const std::string& data) {
  SearchOptions o;
  o.search_data = data;
  o.num_variants = 3;
  o.search_rows = 96;
  o.search.population = 4;
  o.search.generations = 1;
  o.search.seed = 3;
  o.timing_batches = 2;
  o.timing_repeats = 1;
  // Accept anything cheaper on this tiny sample (its AUC is very noisy).
  o.selection.auc_drops = {1.0};
  return o;
}

class VariantSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = Model::Load(kModelDir);
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = m->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static Model* model_;
};
Model* VariantSearchTest::model_ = nullptr;

TEST_F(VariantSearchTest, ChoosesMonotoneVariantsWithReproducibleAuc) {
  const std::string dir = FreshDir("search");
  const std::string data = DevHead(dir, 160);
  SearchOptions o = SmallOptions(data);
  o.eval_threads = 2;  // scores must not depend on it
  absl::StatusOr<VariantSearchResult> r = SearchVariants(*model_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->search_rows, 96);
  EXPECT_EQ(r->data_rows, 160);
  EXPECT_EQ(r->auc_data, "head.tsv (160 rows)");
  EXPECT_LE(r->search.evaluated.size(), 8u);  // 4 initial + 4 children
  ASSERT_GE(r->variants.size(), 2u);
  ASSERT_LE(r->variants.size(), 3u);
  ASSERT_EQ(r->sample_objectives.size(), r->variants.size());

  const Variant& full = r->variants[0];
  EXPECT_EQ(full.name, "full");
  EXPECT_TRUE(full.length.keep_ratios.empty());
  EXPECT_DOUBLE_EQ(full.relative_cost, 1.0);
  for (size_t i = 0; i < r->variants.size(); ++i) {
    const Variant& v = r->variants[i];
    SCOPED_TRACE(v.name);
    if (i > 0) {
      EXPECT_EQ(v.name, "lat-" + std::to_string(i));
      EXPECT_TRUE(v.length.Validate(4).ok());
      EXPECT_FALSE(v.length.is_full());
      EXPECT_GT(v.relative_cost, 0.0);
      // Most accurate first, cheaper than full, on the search sample.
      EXPECT_LE(r->sample_objectives[i].auc, r->sample_objectives[i - 1].auc);
      EXPECT_LT(r->sample_objectives[i].cost, r->sample_objectives[i - 1].cost);
    }
    // The written AUC is what an evaluator measures on the whole file. The
    // same batches run the same code, so they agree to rounding only.
    constexpr double kAucTolerance = 1e-9;
    EXPECT_NEAR(v.auc, IndependentAuc(*model_, data, v.length), kAucTolerance);
  }
}

TEST_F(VariantSearchTest, WritesTextprotoAtomically) {
  const std::string dir = FreshDir("write");
  std::vector<Variant> variants(2);
  variants[0].name = "full";
  variants[0].auc = 0.94;
  variants[0].relative_cost = 1.0;
  variants[1].name = "lat-1";
  variants[1].length.keep_ratios = {0.9, 0.8, 0.7, 0.6};
  variants[1].auc = 0.93;
  variants[1].relative_cost = 0.61;
  ASSERT_TRUE(
      WriteVariantsFile(ToVariantList(variants, "dev.tsv (16420 rows)"), dir)
          .ok());
  std::ifstream in(dir + "/variants.textproto");
  std::stringstream ss;
  ss << in.rdbuf();
  fastrel::v1::VariantList list;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(ss.str(), &list));
  ASSERT_EQ(list.variants_size(), 2);
  EXPECT_EQ(list.variants(0).name(), "full");
  EXPECT_EQ(list.variants(0).length().keep_ratios_size(), 0);
  EXPECT_EQ(list.variants(1).name(), "lat-1");
  EXPECT_EQ(list.variants(1).length().keep_ratios(3), 0.6);
  EXPECT_EQ(list.variants(1).auc(), 0.93);
  EXPECT_EQ(list.variants(1).auc_data(), "dev.tsv (16420 rows)");
  EXPECT_EQ(list.variants(1).relative_cost(), 0.61);
  // Only the file itself is left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);

  EXPECT_FALSE(WriteVariantsFile(list, dir + "/missing/sub").ok());
}

TEST_F(VariantSearchTest, RejectsBadDataAndOptions) {
  const std::string dir = FreshDir("bad");
  SearchOptions o = SmallOptions(dir + "/absent.tsv");
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kNotFound);

  const std::string positives = dir + "/positives.tsv";
  std::ofstream(positives)
      << "query\tdocument\tlabel\na b\tc d\t1\ne f\tg h\t1\n";
  o.search_data = positives;
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kInvalidArgument);

  const std::string unlabeled = dir + "/unlabeled.tsv";
  std::ofstream(unlabeled) << "query\tdocument\na b\tc d\n";
  o.search_data = unlabeled;
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kInvalidArgument);

  o = SmallOptions(DevHead(dir, 40));
  o.num_variants = 0;
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = SmallOptions(DevHead(dir, 40));
  o.search.population = 1;
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = SmallOptions("");
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fastrel
