// UTF-8 decoding/encoding helpers used by the tokenizer (internal).
#ifndef FASTREL_ENGINE_TOKENIZER_UTF8_H_
#define FASTREL_ENGINE_TOKENIZER_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace fastrel::utf8 {

// Code point used for bytes that do not start a well-formed sequence.
inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point starting at text[*pos] and advances *pos past it.
// Requires *pos < text.size(). Ill-formed input (overlong, surrogate, out of
// range, truncated, stray continuation byte) yields kReplacement and advances
// by one byte, so decoding never fails and always makes progress.
char32_t Decode(std::string_view text, size_t* pos);

// Appends the UTF-8 encoding of `cp` >= 0x80 (requires cp <= 0x10FFFF).
void AppendNonAscii(char32_t cp, std::string* out);
// Appends the UTF-8 encoding of `cp` (requires cp <= 0x10FFFF) to `out`.
inline void Append(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {
    AppendNonAscii(cp, out);
  }
}

}  // namespace fastrel::utf8

#endif  // FASTREL_ENGINE_TOKENIZER_UTF8_H_
