#include "engine/data/labeled_pairs.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(LabeledPairsTest, ReadsTheDevSet) {
  auto rows = ReadLabeledPairs(FASTREL_SHARED_DIR "/data/dev.tsv",
                               {.require_labels = true});
  ASSERT_TRUE(rows.ok()) << rows.status();
  // One row per non-header line of the file, counted independently.
  std::ifstream in(FASTREL_SHARED_DIR "/data/dev.tsv");
  size_t lines = 0;
  for (std::string l; std::getline(in, l);) lines += !l.empty();
  EXPECT_EQ(rows->size(), lines - 1);
  EXPECT_GT(rows->size(), 16000u);
  EXPECT_EQ((*rows)[0].query, "addressbook vcard format");
  EXPECT_EQ((*rows)[0].label, 1);
}

TEST(LabeledPairsTest, LabelColumnIsOptional) {
  auto rows =
      ReadLabeledPairs(WriteFile("nolabel.tsv", "query\tdocument\nq\td\n"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].label, -1);
  EXPECT_FALSE(
      ReadLabeledPairs(WriteFile("nolabel2.tsv", "query\tdocument\nq\td\n"),
                       {.require_labels = true})
          .ok());
}

TEST(LabeledPairsTest, MaxRows) {
  auto rows =
      ReadLabeledPairs(FASTREL_SHARED_DIR "/data/dev.tsv", {.max_rows = 10});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 10u);
}

TEST(LabeledPairsTest, ErrorsNameTheLine) {
  struct Case {
    std::string text, expect;
  } cases[] = {
      {"", "empty file"},
      {"q\td\n", "header"},
      {"query\tdocument\tlabel\nq\td\n", ":2: expected 3"},
      {"query\tdocument\tlabel\nq\td\t1\nq\td\tyes\n",
       ":3: label must be 0 or 1"},
      {"query\tdocument\tlabel\n\td\t1\n", ":2: empty query"},
      {"query\tdocument\tlabel\nq\t\t1\n", ":2: empty document"},
      {"query\tdocument\tlabel\nq\t\xff\xfe\t1\n", ":2: invalid UTF-8"},
      {"query\tdocument\tlabel\n", "no data rows"},
  };
  int i = 0;
  for (const auto& c : cases) {
    auto rows = ReadLabeledPairs(
        WriteFile("bad" + std::to_string(i++) + ".tsv", c.text));
    ASSERT_FALSE(rows.ok()) << c.text;
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(rows.status().message(), HasSubstr(c.expect)) << c.text;
  }
  auto missing = ReadLabeledPairs("/nonexistent/x.tsv");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fastrel
