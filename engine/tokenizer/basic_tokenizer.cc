#include "engine/tokenizer/basic_tokenizer.h"

#include <array>
#include <cstddef>
#include <cstdint>

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

// What the cleaning/whitespace step does with each ASCII byte.
enum class AsciiClass : uint8_t { kKeep, kDrop, kSpace };
constexpr auto kAsciiClasses = [] {
  std::array<AsciiClass, 128> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = AsciiClass::kDrop;  // Cc
  t[0x7F] = AsciiClass::kDrop;
  for (const char c : {' ', '\t', '\n', '\r'}) {
    t[static_cast<uint8_t>(c)] = AsciiClass::kSpace;
  }
  return t;
}();

}  // namespace

void BasicTokenizer::Run(
    std::string_view text, BasicTokenizerScratch* scratch,
    absl::FunctionRef<bool(std::string_view, int)> on_word) const {
  std::vector<char32_t>& token = scratch->token;
  token.clear();
  size_t pos = 0;
  while (pos < text.size()) {
    const uint8_t byte = static_cast<uint8_t>(text[pos]);
    if (byte < 0x80) {  // Fast path: ASCII never is CJK.
      ++pos;
      switch (kAsciiClasses[byte]) {
        case AsciiClass::kKeep:
          token.push_back(byte);
          break;
        case AsciiClass::kDrop:
          break;
        case AsciiClass::kSpace:
          if (!token.empty()) {
            if (!EmitToken(scratch, on_word)) return;
            token.clear();
          }
          break;
      }
      continue;
    }
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
