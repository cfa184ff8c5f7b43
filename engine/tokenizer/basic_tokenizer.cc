#include "engine/tokenizer/basic_tokenizer.h"

#include <cstddef>

#include "engine/tokenizer/char_classes.h"
#include "engine/tokenizer/utf8.h"

namespace fastrel {
namespace {

// ASCII fast path: true when a token has nothing for lower()/NFD to do beyond
// A-Z -> a-z.
bool AllAscii(const std::vector<char32_t>& cps) {
  for (const char32_t cp : cps) {
    if (cp >= 0x80) return false;
  }
  return true;
}

}  // namespace

void BasicTokenizer::Run(
    std::string_view text, BasicTokenizerScratch* scratch,
    absl::FunctionRef<bool(std::string_view, int)> on_word) const {
  std::vector<char32_t>& token = scratch->token;
  token.clear();
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = utf8::Decode(text, &pos);
    if (chars::IsDropped(cp)) continue;
    const bool cjk = chars::IsCjk(cp);
    if (cjk || chars::IsSplitSpace(cp)) {
      if (!token.empty()) {
        if (!EmitToken(scratch, on_word)) return;
        token.clear();
      }
      if (cjk) {
        token.push_back(cp);
        if (!EmitToken(scratch, on_word)) return;
        token.clear();
      }
      continue;
    }
    token.push_back(cp);
  }
  if (!token.empty()) EmitToken(scratch, on_word);
}

bool BasicTokenizer::EmitToken(
    BasicTokenizerScratch* scratch,
    absl::FunctionRef<bool(std::string_view, int)> on_word) const {
  const std::vector<char32_t>* cps = &scratch->token;
  if (lower_) {
    if (AllAscii(*cps)) {
      scratch->nfd.clear();
      for (const char32_t cp : *cps) {
        scratch->nfd.push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
      }
    } else {
      scratch->lowered.clear();
      chars::LowerPython(*cps, &scratch->lowered);
      scratch->nfd.clear();
      chars::AppendNfd(scratch->lowered, &scratch->nfd);
      // Drop nonspacing marks in place.
      size_t kept = 0;
      for (const char32_t cp : scratch->nfd) {
        if (!chars::IsNonspacingMark(cp)) scratch->nfd[kept++] = cp;
      }
      scratch->nfd.resize(kept);
    }
    cps = &scratch->nfd;
  }
  // Split off punctuation; every other run is one word.
  std::string& word = scratch->word;
  word.clear();
  int word_cps = 0;
  for (const char32_t cp : *cps) {
    if (chars::IsPunct(cp)) {
      if (word_cps > 0) {
        if (!on_word(word, word_cps)) return false;
        word.clear();
        word_cps = 0;
      }
      utf8::Append(cp, &word);
      if (!on_word(word, 1)) return false;
      word.clear();
      continue;
    }
    utf8::Append(cp, &word);
    ++word_cps;
  }
  if (word_cps > 0) return on_word(word, word_cps);
  return true;
}

}  // namespace fastrel
