#include "engine/tokenizer/utf8.h"

#include <cstdint>

#include "engine/tokenizer/tokenizer.h"

namespace fastrel {
namespace utf8 {
namespace {

inline bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

char32_t Decode(std::string_view text, size_t* pos) {
  const size_t i = *pos;
  const size_t n = text.size();
  const uint8_t b0 = static_cast<uint8_t>(text[i]);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  // Length and the allowed range of the second byte (Unicode Table 3-7), which
  // rules out overlong forms, surrogates and code points above U+10FFFF.
  int len = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *pos = i + 1;
    return kReplacement;
  }
  if (n - i < static_cast<size_t>(len)) {
    *pos = i + 1;
    return kReplacement;
  }
  const uint8_t b1 = static_cast<uint8_t>(text[i + 1]);
  if (b1 < lo || b1 > hi) {
    *pos = i + 1;
    return kReplacement;
  }
  cp = (cp << 6) | (b1 & 0x3F);
  for (int k = 2; k < len; ++k) {
    const uint8_t b = static_cast<uint8_t>(text[i + k]);
    if (!IsContinuation(b)) {
      *pos = i + 1;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *pos = i + len;
  return cp;
}

void AppendNonAscii(char32_t cp, std::string* out) {
  if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace utf8

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // Fast path for ASCII runs.
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t start = pos;
    const char32_t cp = utf8::Decode(text, &pos);
    // A decoded U+FFFD is only valid when it really was the 3-byte EF BF BD.
    if (cp == utf8::kReplacement && pos - start != 3) return false;
  }
  return true;
}

}  // namespace fastrel
