// BERT tokenizer: BasicTokenizer + WordPiece with the semantics of Hugging
// Face BertTokenizer as written down in /work/shared/recipe/bert_ref.py (the
// reference that produced golden/tokenize.jsonl and golden/pairs.jsonl), and
// pair encoding for the cross-encoder.
//
// Pipeline (see basic_tokenizer.h for the details): drop U+0000, U+FFFD and
// Cc/Cf except \t\n\r; isolate CJK ideographs; split on whitespace; when
// do_lower_case: Python str.lower() (full mappings, Final_Sigma), NFD, drop
// Mn; split off punctuation (ASCII ranges + Unicode P*); then greedy
// longest-match-first WordPiece with "##" continuation pieces. A word longer
// than max_input_chars_per_word code points, or one that cannot be covered by
// vocabulary pieces, becomes a single [UNK].
//
// Known differences from the Python reference (none occur in the golden
// files, which all match exactly):
//  - Unicode version: character data comes from utf8proc 2.8 (Unicode 15.0);
//    CPython 3.11 uses Unicode 14.0 (3.12: 15.0, 3.13: 15.1). Checked against
//    CPython 3.11 on every code point in nine contexts (10M strings,
//    do_lower_case=true): the only differences are 134 code points first
//    assigned in Unicode 15.0, which Python 3.11 sees as unassigned (Cn) while
//    utf8proc drops them (Mn/Cf), splits on them (P*) or treats them as cased
//    or case-ignorable next to a capital sigma (Ll/Lm): U+0ECE, U+10EFD..10EFF,
//    U+11241, U+11B00..11B09, U+11F00..11F01, U+11F36..11F3A, U+11F40,
//    U+11F42..11F4F, U+13439..13440, U+13447..13455, U+1DF25..1DF2A,
//    U+1E030..1E06D, U+1E08F, U+1E4EB..1E4EF. testdata/unicode_golden.jsonl
//    pins the agreed behaviour.
//  - Ill-formed UTF-8 (a precondition violation) does not crash: each bad byte
//    is read as U+FFFD, which the cleaning step drops.
//  - Vocabulary lines lose a trailing "\r" (CRLF files); the reference would
//    keep it. Duplicate tokens are an error here (the reference keeps the
//    last).
//  - EncodePair also caps the query at max_seq_len - 3 tokens, so the output
//    never exceeds max_seq_len (the reference only applies max_query_tokens).
//  - do_lower_case=false skips lowercasing and accent stripping (as Hugging
//    Face does with strip_accents unset); the reference always lowercases.
#ifndef FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_
#define FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace fastrel {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, no
// code points above U+10FFFF, no truncated sequences). The empty string is
// valid.
bool IsValidUtf8(std::string_view text);

// One encoded (query, document) pair: [CLS] q [SEP] d [SEP].
struct EncodedPair {
  std::vector<int32_t> input_ids;
  // 0 for [CLS] q [SEP], 1 for d [SEP].
  std::vector<int32_t> token_type_ids;
  // True when the query or the document was cut to fit.
  bool truncated = false;
};

// Tokenizer options (from tokenizer_config.json; parsed by the model loader).
struct TokenizerOptions {
  // Lowercase and strip accents (NFD, drop Mn) as BERT uncased does.
  bool do_lower_case = true;
  // Words longer than this (in code points, after basic tokenization) become
  // [UNK].
  int max_input_chars_per_word = 100;
};

// Thread safety: immutable after construction; every const method may be
// called from any number of threads at once. Copyable and movable.
class Tokenizer {
 public:
  // Reads vocab.txt (UTF-8, one token per line, id = 0-based line number).
  // Fails (the message names `path`) when the file is missing, unreadable or
  // empty, has a duplicate token, or lacks any of [CLS], [SEP], [UNK], [PAD].
  static absl::StatusOr<Tokenizer> FromVocabFile(
      const std::string& path, const TokenizerOptions& options);
  // Same from tokens in id order, with the same checks.
  static absl::StatusOr<Tokenizer> FromTokens(std::vector<std::string> tokens,
                                              const TokenizerOptions& options);

  // BasicTokenizer only: the words WordPiece would see. `text` should be
  // valid UTF-8 (ill-formed bytes are dropped).
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // Full tokenization to WordPiece ids (no special tokens); ids are in
  // [0, vocab_size()). `text` should be valid UTF-8 (ill-formed bytes are
  // dropped). Linear in text.size().
  std::vector<int32_t> Encode(std::string_view text) const;
  // Pair encoding with truncation: the query is cut to
  // min(max_query_tokens, max_seq_len - 3) tokens, then the document to the
  // max_seq_len - 3 - len(query) slots left. Result length <= max_seq_len.
  // Requires max_seq_len >= 3 (smaller values act as 3). Only as much of the
  // document is tokenized as is needed to fill the slots.
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
  // Per-call buffers for WordPiece.
  struct WordPieceScratch {
    std::vector<uint32_t> bounds;  // Byte offset of each code point + end.
    std::string piece;             // "##" + candidate.
  };

  // All per-call buffers of EncodeInto (defined in tokenizer.cc); one is
  // shared by the query and the document of EncodePair.
  struct EncodeScratch;

  Tokenizer() = default;
  // Appends the WordPiece ids of `word` (UTF-8, `num_cps` code points).
  void WordPiece(std::string_view word, int num_cps, WordPieceScratch* scratch,
                 std::vector<int32_t>* out) const;
  // Appends the ids of `text` to `out`, at most `max_ids` of them; returns
  // true when more would have followed (the text was truncated).
  bool EncodeInto(std::string_view text, size_t max_ids, EncodeScratch* scratch,
                  std::vector<int32_t>* out) const;

  TokenizerOptions options_;
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  // Longest token in bytes: longer candidates are never looked up.
  size_t max_token_bytes_ = 0;
  int32_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, unk_id_ = -1;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_TOKENIZER_TOKENIZER_H_
