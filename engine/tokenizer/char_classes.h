// Character classes and per-code-point transforms of the BERT BasicTokenizer,
// matching CPython's str/unicodedata behaviour as used by
// /work/shared/recipe/bert_ref.py (internal to the tokenizer).
//
// General categories, simple case mappings and canonical decompositions come
// from utf8proc (Unicode 15.0); CPython 3.11 uses Unicode 14.0. See
// tokenizer.h for the resulting known differences.
#ifndef FASTREL_ENGINE_TOKENIZER_CHAR_CLASSES_H_
#define FASTREL_ENGINE_TOKENIZER_CHAR_CLASSES_H_

#include <vector>

namespace fastrel::chars {

// Dropped by the cleaning step: U+0000, U+FFFD, and Cc/Cf except \t \n \r.
bool IsDropped(char32_t cp);
// CJK ideograph ranges that BERT surrounds with spaces.
bool IsCjk(char32_t cp);
// Splits whitespace tokens: BERT's _is_whitespace (space, \t, \n, \r, Zs) plus
// the remaining code points Python's str.split() splits on after cleaning
// (U+2028, U+2029; the other isspace() ones are Cc and already dropped).
bool IsSplitSpace(char32_t cp);
// Unicode category P* (for code points >= 0x80).
bool IsNonAsciiPunct(char32_t cp);
// ASCII punctuation ranges or Unicode category P*.
inline bool IsPunct(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
           (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  }
  return IsNonAsciiPunct(cp);
}
// Unicode category Mn (dropped after NFD when lowercasing).
bool IsNonspacingMark(char32_t cp);

// Appends the Python str.lower() of the whole token `cps` (full mappings:
// U+0130 -> "i\u0307"; Final_Sigma context for U+03A3) to `out`.
void LowerPython(const std::vector<char32_t>& cps, std::vector<char32_t>* out);

// Appends the NFD of `cps` (full canonical decomposition + canonical ordering)
// to `out`.
void AppendNfd(const std::vector<char32_t>& cps, std::vector<char32_t>* out);

}  // namespace fastrel::chars

#endif  // FASTREL_ENGINE_TOKENIZER_CHAR_CLASSES_H_
