#include "engine/tokenizer/utf8.h"

#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

TEST(IsValidUtf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\t\n"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));          // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));      // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBD"));      // U+FFFD itself
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x9A\x80"));  // U+1F680
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xC2\x80\xDF\xBF"));  // U+0080, U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"));
}

TEST(IsValidUtf8Test, RejectsOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in 4 bytes
}

TEST(IsValidUtf8Test, RejectsSurrogatesAndOutOfRange) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
}

TEST(IsValidUtf8Test, RejectsTruncatedAndStraySequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("ab\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x9A"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82x"));  // Continuation replaced.
  EXPECT_FALSE(IsValidUtf8("\x80"));       // Stray continuation.
  EXPECT_FALSE(
      IsValidUtf8("a\xBF"
                  "b"));
  EXPECT_FALSE(IsValidUtf8("\xC3\xA9\xA9"));  // One continuation too many.
}

TEST(Utf8DecodeTest, DecodesAndRecoversFromErrors) {
  const std::string text = "a\xC3\xA9\xF0\x9F\x9A\x80\xE2\x82x";
  size_t pos = 0;
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(U'a'));
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(U'\u00E9'));
  EXPECT_EQ(pos, 3u);
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(U'\U0001F680'));
  EXPECT_EQ(pos, 7u);
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(utf8::kReplacement));  // Truncated E2 82.
  EXPECT_EQ(pos, 8u);
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(utf8::kReplacement));  // Stray 82.
  EXPECT_EQ(pos, 9u);
  EXPECT_EQ(static_cast<uint32_t>(utf8::Decode(text, &pos)),
            static_cast<uint32_t>(U'x'));
  EXPECT_EQ(pos, text.size());
}

TEST(Utf8AppendTest, RoundTripsEveryScalarValue) {
  std::string buf;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    buf.clear();
    utf8::Append(cp, &buf);
    ASSERT_TRUE(IsValidUtf8(buf)) << std::hex << static_cast<uint32_t>(cp);
    size_t pos = 0;
    ASSERT_EQ(static_cast<uint32_t>(utf8::Decode(buf, &pos)),
              static_cast<uint32_t>(cp));
    ASSERT_EQ(pos, buf.size());
  }
}

}  // namespace
}  // namespace fastrel
