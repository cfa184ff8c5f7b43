// BERT tokenizer: BasicTokenizer + WordPiece with exact Hugging Face
// BertTokenizer semantics, and pair encoding for the cross-encoder.
#ifndef FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_
#define FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace fastrel {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, no
// code points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// One encoded (query, document) pair: [CLS] q [SEP] d [SEP].
struct EncodedPair {
  std::vector<int32_t> input_ids;
  // 0 for [CLS] q [SEP], 1 for d [SEP].
  std::vector<int32_t> token_type_ids;
  // True when the query or the document was cut to fit.
  bool truncated = false;
};

// Tokenizer options (from tokenizer_config.json).
struct TokenizerOptions {
  // Lowercase and strip accents (NFD, drop Mn) as BERT uncased does.
  bool do_lower_case = true;
  // Words longer than this (in code points) become [UNK].
  int max_input_chars_per_word = 100;
};

// Thread safety: immutable after construction; every const method may be
// called from any number of threads at once.
class Tokenizer {
 public:
  // Reads vocab.txt (one token per line, id = line number). Fails when the file
  // is missing or lacks any of [CLS], [SEP], [UNK], [PAD].
  static absl::StatusOr<Tokenizer> FromVocabFile(const std::string& path,
                                                 const TokenizerOptions& options);
  // Same from tokens in id order.
  static absl::StatusOr<Tokenizer> FromTokens(std::vector<std::string> tokens,
                                              const TokenizerOptions& options);

  // BasicTokenizer: clean, (lowercase + strip accents), split on whitespace and
  // punctuation, isolate CJK characters. `text` must be valid UTF-8.
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // Full tokenization to WordPiece ids (no special tokens). `text` must be
  // valid UTF-8.
  std::vector<int32_t> Encode(std::string_view text) const;
  // Pair encoding with truncation: the query is cut to `max_query_tokens`,
  // then the document to fill `max_seq_len` (3 slots go to specials).
  // Requires max_seq_len >= 3.
  EncodedPair EncodePair(std::string_view query, std::string_view document,
                         int max_seq_len, int max_query_tokens) const;

  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }
  // Token text of `id`; requires 0 <= id < vocab_size().
  const std::string& token(int32_t id) const { return tokens_[id]; }
  // Id of `token`, or -1.
  int32_t TokenId(std::string_view token) const;
  const TokenizerOptions& options() const { return options_; }

 private:
  Tokenizer() = default;
  void WordPiece(std::string_view word, std::vector<int32_t>* out) const;

  TokenizerOptions options_;
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  int32_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, unk_id_ = -1;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_
