#include "engine/tokenizer/char_classes.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace fastrel::chars {
namespace {

inline utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// CPython's Case_Ignorable (DerivedCoreProperties): Mn, Me, Cf, Lm, Sk plus
// the Word_Break MidLetter/MidNumLet/Single_Quote code points listed here
// (derived from CPython 3.11 / Unicode 14.0 by probing str.lower()).
bool IsCaseIgnorable(char32_t cp) {
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  switch (cp) {
    case 0x0027:
    case 0x002E:
    case 0x003A:
    case 0x00B7:
    case 0x0387:
    case 0x055F:
    case 0x05F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      return false;
  }
}

// CPython's Cased property for code points that are not Case_Ignorable:
// Lu, Ll, Lt plus Other_Lowercase / Other_Uppercase letters and symbols.
bool IsCased(char32_t cp) {
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      break;
  }
  return cp == 0xAA || cp == 0xBA || (cp >= 0x2160 && cp <= 0x217F) ||
         (cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
         (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
}

// CPython's handle_capital_sigma: U+03A3 lowercases to final sigma when
// preceded by a cased letter and not followed by one (skipping
// case-ignorable code points in both directions).
bool IsFinalSigma(const std::vector<char32_t>& cps, size_t i) {
  size_t j = i;
  bool cased_before = false;
  while (j > 0) {
    --j;
    if (!IsCaseIgnorable(cps[j])) {
      cased_before = IsCased(cps[j]);
      break;
    }
  }
  if (!cased_before) return false;
  for (size_t k = i + 1; k < cps.size(); ++k) {
    if (!IsCaseIgnorable(cps[k])) return !IsCased(cps[k]);
  }
  return true;
}

}  // namespace

bool IsDropped(char32_t cp) {
  if (cp < 0x80) {
    return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F;
  }
  if (cp == 0xFFFD) return true;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF;
}

bool IsCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool IsSplitSpace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x80) return false;
  if (cp == 0x2028 || cp == 0x2029) return true;
  return Category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool IsNonAsciiPunct(char32_t cp) {
  const utf8proc_category_t c = Category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool IsNonspacingMark(char32_t cp) {
  return cp >= 0x300 && Category(cp) == UTF8PROC_CATEGORY_MN;
}

void LowerPython(const std::vector<char32_t>& cps, std::vector<char32_t>* out) {
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    if (cp < 0x80) {
      out->push_back(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
    } else if (cp == 0x0130) {  // The only multi-code-point lowercase mapping.
      out->push_back('i');
      out->push_back(0x0307);
    } else if (cp == 0x03A3) {
      out->push_back(IsFinalSigma(cps, i) ? 0x03C2 : 0x03C3);
    } else {
      out->push_back(static_cast<char32_t>(
          utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
}

void AppendNfd(const std::vector<char32_t>& cps, std::vector<char32_t>* out) {
  const size_t begin = out->size();
  bool any_mark = false;
  for (const char32_t cp : cps) {
    if (cp < 0xC0) {  // Nothing below U+00C0 decomposes canonically.
      out->push_back(cp);
      continue;
    }
    // The longest full canonical decomposition is 4 code points; 16 is ample.
    utf8proc_int32_t buf[16];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 16,
                                UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || n > 16) {  // Cannot happen for valid code points.
      out->push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      out->push_back(static_cast<char32_t>(buf[k]));
      if (utf8proc_get_property(buf[k])->combining_class != 0) any_mark = true;
    }
  }
  if (!any_mark) return;
  // Canonical ordering: stable sort of every run of non-starters by ccc.
  auto ccc = [](char32_t cp) {
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))
        ->combining_class;
  };
  auto it = out->begin() + static_cast<std::ptrdiff_t>(begin);
  while (it != out->end()) {
    if (ccc(*it) == 0) {
      ++it;
      continue;
    }
    auto run_end = it;
    while (run_end != out->end() && ccc(*run_end) != 0) ++run_end;
    std::stable_sort(it, run_end,
                     [&](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    it = run_end;
  }
}

}  // namespace fastrel::chars
