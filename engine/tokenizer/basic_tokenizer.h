// BERT BasicTokenizer (internal): text -> words, exactly as basic_tokenize()
// in /work/shared/recipe/bert_ref.py.
#ifndef FASTREL_ENGINE_TOKENIZER_BASIC_TOKENIZER_H_
#define FASTREL_ENGINE_TOKENIZER_BASIC_TOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace fastrel {

// Buffers reused across the words of one call so that the per-character work
// does no heap allocation once they have grown. Not shared between threads.
struct BasicTokenizerScratch {
  std::vector<char32_t> token;    // Current whitespace-delimited token.
  std::vector<char32_t> lowered;  // Its Python str.lower().
  std::vector<char32_t> nfd;      // NFD of `lowered`.
  std::string word;               // UTF-8 of the word being emitted.
};

// Thread safety: stateless apart from its options; Run is const.
class BasicTokenizer {
 public:
  explicit BasicTokenizer(bool do_lower_case) : lower_(do_lower_case) {}

  // Splits `text` into words and calls on_word(word, code_points) for each in
  // order; `word` is UTF-8 and valid only during the call. Stops early when
  // on_word returns false. Ill-formed UTF-8 bytes are treated as U+FFFD (and
  // so dropped). Steps: drop U+0000, U+FFFD and Cc/Cf except \t\n\r; isolate
  // CJK ideographs; split on whitespace; then per token (when lowercasing)
  // Python str.lower(), NFD, drop Mn; finally split off punctuation.
  void Run(std::string_view text, BasicTokenizerScratch* scratch,
           absl::FunctionRef<bool(std::string_view, int)> on_word) const;

 private:
  // Processes one whitespace token held in scratch->token; false = stop.
  bool EmitToken(BasicTokenizerScratch* scratch,
                 absl::FunctionRef<bool(std::string_view, int)> on_word) const;

  bool lower_;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_TOKENIZER_BASIC_TOKENIZER_H_
