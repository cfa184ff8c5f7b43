#include "loadtest/request_source.h"

#include <fstream>

#include "gtest/gtest.h"

namespace fastrel::loadtest {
namespace {

TEST(RequestSourceTest, ParsesDevTsvLayoutAndGroupsByQuery) {
  absl::StatusOr<Corpus> c = ParseTsv(
      "query\tdocument\tlabel\nq1\td1\t1\nq1\td2\t0\nq2\td3\t1\r\nq1\td4\t0\n",
      "x.tsv");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_rows, 4u);
  ASSERT_EQ(c->groups.size(), 2u);
  EXPECT_EQ(c->groups[0].query, "q1");
  EXPECT_EQ(c->groups[0].documents.size(), 3u);
  EXPECT_EQ(c->groups[1].documents[0], "d3");
}

TEST(RequestSourceTest, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"", "empty"},
      {"a\tb\n1\t2\n", ":1:"},  // header without query/document
      {"query\tdocument\tlabel\nq\td\t1\nq\td\n", ":3:"},  // missing column
      {"query\tdocument\nq\t\n", ":2: empty document"},
      {"query\tdocument\n\td\n", ":2: empty query"},
      {"query\tdocument\n", "no data rows"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Corpus> corpus = ParseTsv(c.text, "bad.tsv");
    ASSERT_FALSE(corpus.ok()) << c.text;
    EXPECT_NE(corpus.status().message().find(c.expect), std::string::npos)
        << corpus.status() << " for " << c.text;
  }
}

TEST(RequestSourceTest, LoadsTheSharedDevSet) {
  absl::StatusOr<Corpus> c = LoadTsv(FASTREL_SHARED_DIR "/data/dev.tsv");
  if (!c.ok() && absl::IsNotFound(c.status())) GTEST_SKIP() << c.status();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GT(c->num_rows, 1000u);
  EXPECT_LT(c->groups.size(), c->num_rows);  // queries repeat
}

TEST(RequestSourceTest, MissingFileIsNotFound) {
  absl::StatusOr<Corpus> c =
      LoadTsv(::testing::TempDir() + "/does-not-exist.tsv");
  EXPECT_TRUE(absl::IsNotFound(c.status())) << c.status();
}

TEST(RequestSourceTest, ParseDocs) {
  EXPECT_EQ(ParseDocs("4")->min, 4);
  EXPECT_EQ(ParseDocs("4")->max, 4);
  EXPECT_EQ(ParseDocs("2:9")->max, 9);
  for (const char* bad : {"0", "-1", "a", "5:2", "1:2:3", "", "100000", "3:"}) {
    EXPECT_FALSE(ParseDocs(bad).ok()) << bad;
  }
}

TEST(RequestSourceTest, PoolHonoursDocsRangeAndOptions) {
  Corpus corpus = SyntheticCorpus(5, 20, 8, 3, 1);
  ASSERT_EQ(corpus.groups.size(), 8u);
  RequestPoolOptions options;
  options.pool_size = 200;
  options.docs = {2, 7};
  options.budget_ms = 25;
  options.variant = "fast";
  RequestPool pool(corpus, options);
  ASSERT_EQ(pool.size(), 200u);
  bool saw_min = false, saw_max = false;
  for (size_t i = 0; i < pool.size(); ++i) {
    const auto& r = pool.Get(i);
    ASSERT_GE(r.documents_size(), 2);
    ASSERT_LE(r.documents_size(), 7);
    saw_min |= r.documents_size() == 2;
    saw_max |= r.documents_size() == 7;
    EXPECT_EQ(r.options().budget_ms(), 25);
    EXPECT_EQ(r.options().variant(), "fast");
    EXPECT_FALSE(r.query().empty());
  }
  EXPECT_TRUE(saw_min && saw_max);
  EXPECT_EQ(&pool.Get(3), &pool.Get(203));  // round robin
}

TEST(RequestSourceTest, SyntheticTextHasRequestedWordCount) {
  Corpus corpus = SyntheticCorpus(7, 33, 2, 2, 5);
  const std::string& doc = corpus.groups[0].documents[1];
  EXPECT_EQ(std::count(doc.begin(), doc.end(), ' '), 32);
  EXPECT_EQ(std::count(corpus.groups[1].query.begin(),
                       corpus.groups[1].query.end(), ' '),
            6);
}

}  // namespace
}  // namespace fastrel::loadtest
