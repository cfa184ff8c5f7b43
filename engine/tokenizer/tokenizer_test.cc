#include "engine/tokenizer/tokenizer.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kVocab[] = FASTREL_SOURCE_DIR "/models/demo/vocab.txt";

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(kVocab, {});
    ASSERT_TRUE(tok.ok()) << tok.status();
    tok_ = new Tokenizer(*std::move(tok));
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  std::vector<std::string> Tokens(std::string_view text) const {
    std::vector<std::string> out;
    for (int32_t id : tok_->Encode(text)) out.push_back(tok_->token(id));
    return out;
  }
  static Tokenizer* tok_;
};
Tokenizer* TokenizerTest::tok_ = nullptr;

// A fresh directory for files written by one test.
std::string FreshDir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("fastrel_tokenizer_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string WriteFile(const std::string& dir, const std::string& name,
                      const std::string& contents) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST_F(TokenizerTest, SpecialTokensAndVocab) {
  EXPECT_EQ(tok_->vocab_size(), 16384);
  EXPECT_EQ(tok_->token(tok_->cls_id()), "[CLS]");
  EXPECT_EQ(tok_->token(tok_->sep_id()), "[SEP]");
  EXPECT_EQ(tok_->token(tok_->pad_id()), "[PAD]");
  EXPECT_EQ(tok_->token(tok_->unk_id()), "[UNK]");
  EXPECT_EQ(tok_->TokenId("[CLS]"), tok_->cls_id());
  EXPECT_EQ(tok_->TokenId("definitely-not-a-token"), -1);
  EXPECT_TRUE(tok_->options().do_lower_case);
}

TEST_F(TokenizerTest, BasicTokenizeMatchesPythonReference) {
  // Expected values come from basic_tokenize() in bert_ref.py.
  EXPECT_THAT(tok_->BasicTokenize("Hello, World!"),
              ElementsAre("hello", ",", "world", "!"));
  // Final sigma: a word-final capital sigma lowercases to U+03C2, also before
  // case-ignorable punctuation; not when followed by a cased letter.
  EXPECT_THAT(tok_->BasicTokenize("ΟΔΟΣ ΣΑ ΑΣ.Β Σ"),
              ElementsAre("\u03bf\u03b4\u03bf\u03c2", "\u03c3\u03b1",
                          "\u03b1\u03c3", ".", "\u03b2", "\u03c3"));
  // U+0130 lowercases to "i" + U+0307; the mark is then dropped.
  EXPECT_THAT(tok_->BasicTokenize("İstanbul"), ElementsAre("istanbul"));
  // Python's str.split() also splits on U+2028/U+2029; U+0085 and U+001C are
  // Cc and dropped by cleaning.
  EXPECT_THAT(tok_->BasicTokenize("a\u2028b\u2029c"),
              ElementsAre("a", "b", "c"));
  EXPECT_THAT(tok_->BasicTokenize("a\u0085b\x1c"
                                  "c"),
              ElementsAre("abc"));
  // CJK ideographs are isolated; compatibility ideographs decompose.
  EXPECT_THAT(tok_->BasicTokenize("\uF900\u4e2d\u6587x"),
              ElementsAre("\u8c48", "\u4e2d", "\u6587", "x"));
  // NFD can produce ASCII punctuation (U+1FEF -> '`').
  EXPECT_THAT(tok_->BasicTokenize("a\u1FEFb"), ElementsAre("a", "`", "b"));
  // Hangul syllables decompose to conjoining jamo.
  EXPECT_THAT(tok_->BasicTokenize("한국어"),
              ElementsAre("\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165"));
  // Combining marks are reordered and dropped.
  EXPECT_THAT(tok_->BasicTokenize("e\u0301\u0327 x\u0327\u0301"),
              ElementsAre("e", "x"));
  EXPECT_THAT(tok_->BasicTokenize(" \t\r\n "), ElementsAre());
  EXPECT_THAT(tok_->BasicTokenize(""), ElementsAre());
}

TEST(TokenizerOptionsTest, CasedTokenizerKeepsCaseAndAccents) {
  TokenizerOptions options;
  options.do_lower_case = false;
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(kVocab, options);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_THAT(tok->BasicTokenize("Crème-Brûlée ΟΔΟΣ"),
              ElementsAre("Crème", "-", "Brûlée", "ΟΔΟΣ"));
}

TEST_F(TokenizerTest, WordPieceGreedyLongestMatch) {
  EXPECT_THAT(Tokens("unaffable"), ElementsAre("una", "##ff", "##able"));
  EXPECT_THAT(Tokens("xyzzyplugh"),
              ElementsAre("xyz", "##zy", "##pl", "##ug", "##h"));
  // A word that cannot be covered is one [UNK], not a partial match.
  EXPECT_THAT(Tokens("set\u0436 set"), ElementsAre("[UNK]", "set"));
}

TEST_F(TokenizerTest, OverlongWordIsUnknown) {
  EXPECT_THAT(Tokens(std::string(101, 'a')), ElementsAre("[UNK]"));
  const std::vector<std::string> hundred = Tokens(std::string(100, 'b'));
  ASSERT_FALSE(hundred.empty());
  EXPECT_NE(hundred[0], "[UNK]");
  // The limit counts code points after basic tokenization, not bytes.
  std::string accented;
  for (int i = 0; i < 100; ++i) accented += "\u00e9";  // 200 bytes.
  EXPECT_NE(Tokens(accented)[0], "[UNK]");

  TokenizerOptions options;
  options.max_input_chars_per_word = 5;
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(kVocab, options);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->Encode("abcdef"), std::vector<int32_t>{tok->unk_id()});
  EXPECT_NE(tok->Encode("abcde"), std::vector<int32_t>{tok->unk_id()});
}

TEST_F(TokenizerTest, EncodePairWithoutTruncation) {
  const std::vector<int32_t> q = tok_->Encode("ordered set");
  const std::vector<int32_t> d = tok_->Encode("an ordered set library");
  const EncodedPair p =
      tok_->EncodePair("ordered set", "an ordered set library", 128, 32);
  std::vector<int32_t> want = {tok_->cls_id()};
  want.insert(want.end(), q.begin(), q.end());
  want.push_back(tok_->sep_id());
  want.insert(want.end(), d.begin(), d.end());
  want.push_back(tok_->sep_id());
  EXPECT_EQ(p.input_ids, want);
  std::vector<int32_t> types(q.size() + 2, 0);
  types.resize(want.size(), 1);
  EXPECT_EQ(p.token_type_ids, types);
  EXPECT_FALSE(p.truncated);

  const EncodedPair empty = tok_->EncodePair("", "", 128, 32);
  EXPECT_THAT(empty.input_ids,
              ElementsAre(tok_->cls_id(), tok_->sep_id(), tok_->sep_id()));
  EXPECT_THAT(empty.token_type_ids, ElementsAre(0, 0, 1));
  EXPECT_FALSE(empty.truncated);
}

std::string Repeat(std::string_view word, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.append(word).append(" ");
  return s;
}

TEST_F(TokenizerTest, EncodePairTruncatesLongQuery) {
  const int32_t set = tok_->TokenId("set");
  ASSERT_GE(set, 0);
  const EncodedPair p = tok_->EncodePair(Repeat("set", 40), "set", 128, 32);
  ASSERT_EQ(p.input_ids.size(), 32u + 2 + 1 + 1);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.input_ids[33], tok_->sep_id());
  EXPECT_EQ(p.input_ids[34], set);
  EXPECT_EQ(p.token_type_ids[33], 0);
  EXPECT_EQ(p.token_type_ids[34], 1);
  // Exactly at the budget is not truncation.
  EXPECT_FALSE(tok_->EncodePair(Repeat("set", 32), "set", 128, 32).truncated);
}

TEST_F(TokenizerTest, EncodePairTruncatesLongDocument) {
  const EncodedPair p =
      tok_->EncodePair("ordered set", Repeat("set", 500), 128, 32);
  ASSERT_EQ(p.input_ids.size(), 128u);
  ASSERT_EQ(p.token_type_ids.size(), 128u);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.input_ids.back(), tok_->sep_id());
  EXPECT_EQ(p.token_type_ids.back(), 1);
  // The document exactly fills the slots: not truncated.
  const size_t q_len = tok_->Encode("ordered set").size();
  const EncodedPair full = tok_->EncodePair(
      "ordered set", Repeat("set", static_cast<int>(128 - 3 - q_len)), 128, 32);
  EXPECT_EQ(full.input_ids.size(), 128u);
  EXPECT_FALSE(full.truncated);
}

TEST_F(TokenizerTest, EncodePairSmallMaxSeqLen) {
  // The query is capped at max_seq_len - 3 so the result never overflows.
  const EncodedPair p = tok_->EncodePair("a b c d e", "f g h", 6, 32);
  ASSERT_EQ(p.input_ids.size(), 6u);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.input_ids[0], tok_->cls_id());
  EXPECT_EQ(p.input_ids[4], tok_->sep_id());
  EXPECT_EQ(p.input_ids[5], tok_->sep_id());
  EXPECT_THAT(p.token_type_ids, ElementsAre(0, 0, 0, 0, 0, 1));

  const EncodedPair specials_only = tok_->EncodePair("a", "b", 3, 32);
  EXPECT_THAT(specials_only.input_ids,
              ElementsAre(tok_->cls_id(), tok_->sep_id(), tok_->sep_id()));
  EXPECT_TRUE(specials_only.truncated);
  EXPECT_EQ(tok_->EncodePair("a", "b", 0, 32).input_ids.size(), 3u);
  EXPECT_EQ(tok_->EncodePair("a", "b", -5, -5).input_ids.size(), 3u);
  // A huge limit costs nothing extra.
  EXPECT_EQ(tok_->EncodePair("a", "b", std::numeric_limits<int>::max(),
                             std::numeric_limits<int>::max())
                .input_ids.size(),
            5u);
  // A zero query budget keeps the whole row for the document.
  const EncodedPair no_query = tok_->EncodePair("a", "b c", 8, 0);
  EXPECT_EQ(no_query.input_ids.size(), 5u);
  EXPECT_TRUE(no_query.truncated);
}

TEST(VocabErrorsTest, MissingFileNamesThePath) {
  const std::string path = FreshDir("missing") + "/no_such_vocab.txt";
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(path, {});
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tok.status().message(), HasSubstr(path));
}

TEST(VocabErrorsTest, EmptyFile) {
  const std::string path = WriteFile(FreshDir("empty"), "vocab.txt", "");
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(path, {});
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr(path));
  EXPECT_THAT(tok.status().message(), HasSubstr("empty"));
}

TEST(VocabErrorsTest, MissingSpecialToken) {
  const std::string path =
      WriteFile(FreshDir("nocls"), "vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n");
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(path, {});
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tok.status().message(), HasSubstr(path));
  EXPECT_THAT(tok.status().message(), HasSubstr("[CLS]"));
}

TEST(VocabErrorsTest, DuplicateToken) {
  const std::string path =
      WriteFile(FreshDir("dup"), "vocab.txt",
                "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\nhello\n");
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(path, {});
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr(path));
  EXPECT_THAT(tok.status().message(), HasSubstr("'hello' at lines 5 and 7"));
}

TEST(VocabTest, SmallVocabFromFileAndTokens) {
  // CRLF line ends and a missing final newline are accepted.
  const std::string path =
      WriteFile(FreshDir("small"), "vocab.txt",
                "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\nworld");
  absl::StatusOr<Tokenizer> tok = Tokenizer::FromVocabFile(path, {});
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 7);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->unk_id(), 1);
  EXPECT_EQ(tok->cls_id(), 2);
  EXPECT_EQ(tok->sep_id(), 3);
  EXPECT_THAT(tok->Encode("Hellos WORLD worlds there"),
              ElementsAre(4, 5, 6, 6, 5, 1));

  EXPECT_FALSE(Tokenizer::FromTokens({}, {}).ok());
  EXPECT_FALSE(Tokenizer::FromTokens({"[PAD]", "[UNK]", "[CLS]"}, {}).ok());
  EXPECT_TRUE(
      Tokenizer::FromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, {}).ok());
}

// Random valid UTF-8 drawn from scripts the tokenizer treats differently.
std::string RandomText(std::mt19937* rng) {
  static constexpr char32_t kPool[] = {
      ' ',    '\t',   '\n',   'a',    'Z',     '-',    '.',    '\'',
      0x00A0, 0x00AD, 0x00E9, 0x0130, 0x03A3,  0x0301, 0x200B, 0x2028,
      0x3000, 0x4E2D, 0xF900, 0xFFFD, 0x1F680, 0};
  std::uniform_int_distribution<int> len_dist(0, 80);
  std::uniform_int_distribution<int> kind_dist(0, 5);
  std::uniform_int_distribution<uint32_t> ascii(0x01, 0x7F);
  std::uniform_int_distribution<uint32_t> bmp(0x80, 0xFFFF);
  std::uniform_int_distribution<uint32_t> astral(0x10000, 0x10FFFF);
  std::uniform_int_distribution<size_t> pool(0, std::size(kPool) - 1);
  std::string text;
  const int len = len_dist(*rng);
  for (int i = 0; i < len; ++i) {
    char32_t cp = 0;
    switch (kind_dist(*rng)) {
      case 0:
      case 1:
        cp = ascii(*rng);
        break;
      case 2:
        cp = bmp(*rng);
        break;
      case 3:
        cp = astral(*rng);
        break;
      default:
        cp = kPool[pool(*rng)];
        break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    utf8::Append(cp, &text);
  }
  return text;
}

TEST_F(TokenizerTest, RandomValidTextStaysInRange) {
  std::mt19937 rng(20261121);
  for (int i = 0; i < 4000; ++i) {
    const std::string text = RandomText(&rng);
    ASSERT_TRUE(IsValidUtf8(text));
    for (int32_t id : tok_->Encode(text)) {
      ASSERT_GE(id, 0) << text;
      ASSERT_LT(id, tok_->vocab_size()) << text;
    }
    const EncodedPair p = tok_->EncodePair(text, text, 64, 16);
    ASSERT_LE(p.input_ids.size(), 64u);
    ASSERT_EQ(p.input_ids.size(), p.token_type_ids.size());
    for (int32_t id : p.input_ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tok_->vocab_size());
    }
  }
}

TEST_F(TokenizerTest, IllFormedUtf8IsDroppedNotFatal) {
  EXPECT_EQ(tok_->Encode("set\xFF\xC0\xAF"), tok_->Encode("set"));
  EXPECT_EQ(tok_->Encode("\xED\xA0\x80set \xF4\x90\x80\x80"),
            tok_->Encode("set"));
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(static_cast<size_t>(byte(rng) % 64), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    for (int32_t id : tok_->Encode(bytes)) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tok_->vocab_size());
    }
  }
}

TEST_F(TokenizerTest, LargeInputsEncodeInLinearTime) {
  // Each of these would take far longer than the test timeout if any step
  // were quadratic in the text or word length.
  const std::string spaced = Repeat("lpeg lua, language; xyzzyplugh", 40000);
  EXPECT_GT(tok_->Encode(spaced).size(), 200000u);
  const std::string one_word(1 << 20, 'q');  // A single 1 MiB word.
  EXPECT_EQ(tok_->Encode(one_word), std::vector<int32_t>{tok_->unk_id()});
  std::string many_words;
  for (int i = 0; i < 10000; ++i) many_words += std::string(100, 'z') + " ";
  EXPECT_EQ(tok_->Encode(many_words).size() % 10000, 0u);
  // A long document costs only the slots it fills.
  const EncodedPair p = tok_->EncodePair("query", spaced, 128, 32);
  EXPECT_EQ(p.input_ids.size(), 128u);
  EXPECT_TRUE(p.truncated);
}

}  // namespace
}  // namespace fastrel
