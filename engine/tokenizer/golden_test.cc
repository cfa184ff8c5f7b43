// Golden tests: every case written by the Python reference
// (/work/shared/recipe/bert_ref.py via make_golden.py) must match exactly.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

constexpr char kVocab[] = FASTREL_SOURCE_DIR "/models/demo/vocab.txt";
constexpr char kTokenizeGolden[] = FASTREL_SHARED_DIR "/golden/tokenize.jsonl";
constexpr char kPairsGolden[] = FASTREL_SHARED_DIR "/golden/pairs.jsonl";
// Written by testdata/make_unicode_golden.py from the same reference.
constexpr char kUnicodeGolden[] =
    FASTREL_SOURCE_DIR "/engine/tokenizer/testdata/unicode_golden.jsonl";
// The settings make_golden.py used (max_position_embeddings and the default
// query budget of encode_pair).
constexpr int kMaxSeqLen = 128;
constexpr int kMaxQueryTokens = 32;

std::vector<nlohmann::json> ReadJsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

Tokenizer LoadTokenizer() {
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(kVocab, {});
  EXPECT_TRUE(tok.ok()) << tok.status();
  return *std::move(tok);
}

TEST(GoldenTest, TokenizeMatchesReferenceExactly) {
  const Tokenizer tok = LoadTokenizer();
  const std::vector<nlohmann::json> rows = ReadJsonl(kTokenizeGolden);
  ASSERT_FALSE(rows.empty());
  int passed = 0;
  for (const nlohmann::json& row : rows) {
    const std::string text = row.at("text").get<std::string>();
    const std::vector<int32_t> want = row.at("ids").get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.Encode(text);
    if (got == want) {
      ++passed;
    } else {
      std::vector<std::string> got_tokens;
      for (int32_t id : got) got_tokens.push_back(tok.token(id));
      ADD_FAILURE() << "text: " << nlohmann::json(text).dump()
                    << "\n want: " << row.at("tokens").dump()
                    << "\n  got: " << nlohmann::json(got_tokens).dump();
    }
  }
  std::cout << "tokenize.jsonl: " << passed << "/" << rows.size()
            << " exact matches\n";
  EXPECT_EQ(passed, static_cast<int>(rows.size()));
}

TEST(GoldenTest, PairsMatchReferenceExactly) {
  const Tokenizer tok = LoadTokenizer();
  const std::vector<nlohmann::json> rows = ReadJsonl(kPairsGolden);
  ASSERT_FALSE(rows.empty());
  int passed = 0;
  for (const nlohmann::json& row : rows) {
    const std::string query = row.at("query").get<std::string>();
    const std::string document = row.at("document").get<std::string>();
    const EncodedPair got =
        tok.EncodePair(query, document, kMaxSeqLen, kMaxQueryTokens);
    const auto want_ids = row.at("input_ids").get<std::vector<int32_t>>();
    const auto want_types =
        row.at("token_type_ids").get<std::vector<int32_t>>();
    // `truncated` is not in the golden file: derive it from full encodings.
    const size_t q_len = tok.Encode(query).size();
    const size_t d_len = tok.Encode(document).size();
    const size_t q_kept = std::min<size_t>(q_len, kMaxQueryTokens);
    const bool want_truncated =
        q_len > q_kept || d_len > kMaxSeqLen - 3 - q_kept;
    if (got.input_ids == want_ids && got.token_type_ids == want_types &&
        got.truncated == want_truncated) {
      ++passed;
    } else {
      ADD_FAILURE() << "query: " << nlohmann::json(query).dump()
                    << "\ndocument: " << nlohmann::json(document).dump()
                    << "\n want ids: " << absl::StrJoin(want_ids, ",")
                    << "\n  got ids: " << absl::StrJoin(got.input_ids, ",")
                    << "\n want types: " << absl::StrJoin(want_types, ",")
                    << "\n  got types: "
                    << absl::StrJoin(got.token_type_ids, ",")
                    << "\n truncated want/got: " << want_truncated << "/"
                    << got.truncated;
    }
  }
  std::cout << "pairs.jsonl: " << passed << "/" << rows.size()
            << " exact matches\n";
  EXPECT_EQ(passed, static_cast<int>(rows.size()));
}

TEST(GoldenTest, BasicTokenizeMatchesReferenceOnEveryNonTrivialCodePoint) {
  const Tokenizer tok = LoadTokenizer();
  const std::vector<nlohmann::json> rows = ReadJsonl(kUnicodeGolden);
  ASSERT_GT(rows.size(), 100u);
  int passed = 0;
  for (const nlohmann::json& row : rows) {
    const std::string text = row.at("text").get<std::string>();
    const auto want = row.at("words").get<std::vector<std::string>>();
    const std::vector<std::string> got = tok.BasicTokenize(text);
    if (got == want) {
      ++passed;
      continue;
    }
    // Report the first differing word with its context.
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    ADD_FAILURE() << "text: " << nlohmann::json(text).dump() << "\n first "
                  << "difference at word " << i << ": want "
                  << (i < want.size() ? nlohmann::json(want[i]).dump() : "end")
                  << ", got "
                  << (i < got.size() ? nlohmann::json(got[i]).dump() : "end");
  }
  std::cout << "unicode_golden.jsonl: " << passed << "/" << rows.size()
            << " exact matches\n";
  EXPECT_EQ(passed, static_cast<int>(rows.size()));
}

}  // namespace
}  // namespace fastrel
