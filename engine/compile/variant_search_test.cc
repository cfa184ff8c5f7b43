#include "engine/compile/variant_search.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/data/labeled_pairs.h"
#include "engine/data/metrics.h"
#include "engine/model/variants_file.h"
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
                      const LengthConfig& length,
                      const Encoder* weights = nullptr) {
  ReadPairsOptions read;
  read.require_labels = true;
  auto pairs = ReadLabeledPairs(path, read);
  EXPECT_TRUE(pairs.ok());
  const Encoder& encoder =
      weights != nullptr ? *weights : model.encoder(model.variants()[0]);
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
  // 3 variants + 2 more candidates re-measured on the whole file.
  EXPECT_LE(r->candidates.size(), 5u);
  EXPECT_GE(r->candidates.size(), r->variants.size());
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
      // Most accurate first (on the whole file), cheaper than full (on the
      // sample).
      if (i >= 2) {
        EXPECT_LE(v.auc, r->variants[i - 1].auc);
      }
      EXPECT_LT(r->sample_objectives[i].cost, r->sample_objectives[i - 1].cost);
    }
    // The written AUC is what an evaluator measures on the whole file. The
    // same batches run the same code, so they agree to rounding only.
    constexpr double kAucTolerance = 1e-9;
    EXPECT_NEAR(v.auc, IndependentAuc(*model_, data, v.length), kAucTolerance);
  }
}

// search_rows = 0: the sample is the whole file, so the candidates are not
// scored a second time; their AUCs are still the whole file's.
TEST_F(VariantSearchTest, WholeFileSampleIsNotScoredTwice) {
  const std::string dir = FreshDir("whole");
  const std::string data = DevHead(dir, 96);
  SearchOptions o = SmallOptions(data);
  o.search_rows = 0;
  std::vector<std::string> lines;
  o.progress = [&](std::string_view l) { lines.emplace_back(l); };
  absl::StatusOr<VariantSearchResult> r = SearchVariants(*model_, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->search_rows, 96);
  int candidates = 0;
  for (const std::string& l : lines) {
    EXPECT_FALSE(l.starts_with("recheck")) << l;
    candidates += l.starts_with("candidate") ? 1 : 0;
  }
  EXPECT_EQ(candidates, static_cast<int>(r->candidates.size()));
  ASSERT_GE(r->variants.size(), 2u);
  for (const Variant& v : r->variants) {
    SCOPED_TRACE(v.name);
    constexpr double kAucTolerance = 1e-9;  // same batches, same code
    EXPECT_NEAR(v.auc, IndependentAuc(*model_, data, v.length), kAucTolerance);
  }
}

TEST_F(VariantSearchTest, WrittenVariantsLoadWithTheModel) {
  const std::string dir = FreshDir("roundtrip");
  const std::string data = DevHead(dir, 96);
  SearchOptions o = SmallOptions(data);
  o.search_rows = 64;
  // A model directory: the demo model's files (what fastrel-compile would
  // have written), then the search writes its variants into it.
  const std::string model_dir = dir + "/model";
  std::filesystem::create_directories(model_dir);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt",
                        "tokenizer_config.json"}) {
    std::filesystem::create_symlink(std::string(kModelDir) + "/" + f,
                                    model_dir + "/" + f);
  }
  absl::StatusOr<VariantSearchResult> r = SearchAndWriteVariants(model_dir, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(r->variants.size(), 2u);
  absl::StatusOr<std::unique_ptr<Model>> loaded = Model::Load(model_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::vector<Variant>& got = (*loaded)->variants();
  ASSERT_EQ(got.size(), r->variants.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, r->variants[i].name);
    EXPECT_EQ(got[i].length.keep_ratios, r->variants[i].length.keep_ratios);
    EXPECT_EQ(got[i].auc, r->variants[i].auc);
    EXPECT_EQ(got[i].auc_data, "head.tsv (96 rows)");
    EXPECT_EQ(got[i].relative_cost, r->variants[i].relative_cost);
  }
}

TEST_F(VariantSearchTest, SearchesAcrossWeightSets) {
  const std::string dir = FreshDir("weights");
  const std::string data = DevHead(dir, 96);
  // The fp32 demo model with the bundled 80% 4x1 int8 compile of it as the
  // weight set "sparse80": far cheaper, so the merged front must use it.
  const std::string model_dir = dir + "/model";
  std::filesystem::create_directories(model_dir + "/weights");
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt",
                        "tokenizer_config.json"}) {
    std::filesystem::create_symlink(std::string(kModelDir) + "/" + f,
                                    model_dir + "/" + f);
  }
  std::filesystem::create_directory_symlink(
      FASTREL_SOURCE_DIR "/models/demo-4x1-80",
      VariantWeightsDir(model_dir, "sparse80"));
  SearchOptions o = SmallOptions(data);
  o.search_rows = 64;
  o.num_variants = 4;
  o.weights = {"sparse80"};
  absl::StatusOr<VariantSearchResult> r = SearchAndWriteVariants(model_dir, o);
  ASSERT_TRUE(r.ok()) << r.status();
  size_t on_set = 0;
  for (const EvaluatedConfig& p : r->search.evaluated) {
    on_set += p.weights == "sparse80";
  }
  EXPECT_GT(on_set, 0u);
  EXPECT_LT(on_set, r->search.evaluated.size());
  EXPECT_EQ(r->search.evaluated.front().weights, "");  // the reference
  ASSERT_GE(r->variants.size(), 2u);
  EXPECT_EQ(r->variants[0].weights, "");

  absl::StatusOr<std::unique_ptr<Model>> loaded = Model::Load(model_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& m = **loaded;
  EXPECT_TRUE(m.variant_warnings().empty());
  ASSERT_EQ(m.variants().size(), r->variants.size());
  int sparse_variants = 0;
  for (size_t i = 1; i < m.variants().size(); ++i) {
    const Variant& v = m.variants()[i];
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.weights, r->variants[i].weights);
    EXPECT_LT(v.relative_cost, 1.0);
    constexpr double kAucTolerance = 1e-9;  // same batches, same code
    EXPECT_NEAR(v.auc, IndependentAuc(m, data, v.length, &m.encoder(v)),
                kAucTolerance);
    if (v.weights == "sparse80") {
      ++sparse_variants;
      EXPECT_NE(&m.encoder(v), &m.encoder(m.variants()[0]));
    }
  }
  EXPECT_GT(sparse_variants, 0);

  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{
           {""}, {"sparse80", "sparse80"}, {"../model"}}) {
    o.weights = bad;
    EXPECT_EQ(SearchVariants(m, o).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.back();
  }
  o.weights = {"nosuch"};
  absl::Status missing = SearchVariants(m, o).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("weights/nosuch"), std::string::npos)
      << missing;
}

TEST_F(VariantSearchTest, RejectsBadDataAndOptions) {
  const std::string dir = FreshDir("bad");
  SearchOptions o = SmallOptions(dir + "/absent.tsv");
  EXPECT_EQ(SearchVariants(*model_, o).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SearchAndWriteVariants(dir + "/no-model", o).status().code(),
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
