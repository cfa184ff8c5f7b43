#include "engine/kernels/sparse_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/int8_test_util.h"

namespace fastrel {
namespace {

using ::testing::HasSubstr;
using testing_util::RandomSparse;

const SparsePattern kPatterns[] = {SparsePattern::kBlock4x1,
                                   SparsePattern::k2of4, SparsePattern::k1of4};

// Same checksum as the format (FNV-1a 64), to build blobs that pass the
// checksum but break a structural invariant.
void Reseal(std::string* blob) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i + 8 < blob->size(); ++i) {
    h ^= static_cast<unsigned char>((*blob)[i]);
    h *= 1099511628211ull;
  }
  std::memcpy(blob->data() + blob->size() - 8, &h, 8);
}

TEST(SparseFormatTest, PackRoundTripsThroughBytes) {
  std::mt19937 rng(10);
  for (SparsePattern p : kPatterns) {
    for (auto [n, k] : {std::pair{4, 4}, {20, 36}, {64, 256}, {36, 1024}}) {
      auto wq = RandomSparse(p, n, k, 0.7, rng);
      auto packed = PackedSparseInt8::Pack(p, wq.data(), n, k);
      ASSERT_TRUE(packed.ok()) << packed.status();
      EXPECT_EQ(packed->ToDense(), wq);
      const std::string bytes = packed->ToBytes();
      auto restored = PackedSparseInt8::FromBytes(bytes);
      ASSERT_TRUE(restored.ok()) << restored.status();
      EXPECT_EQ(restored->ToDense(), wq);
      EXPECT_EQ(restored->ToBytes(), bytes);
      EXPECT_EQ(restored->col_sums(), packed->col_sums());
      EXPECT_EQ(restored->ubs4x1().val, packed->ubs4x1().val);
      EXPECT_EQ(restored->ubs4x1().off32, packed->ubs4x1().off32);
      EXPECT_EQ(restored->pattern(), p);
    }
  }
}

TEST(SparseFormatTest, DensityReflectsSparsity) {
  std::mt19937 rng(11);
  const int n = 256, k = 256;
  auto wq = RandomSparse(SparsePattern::kBlock4x1, n, k, 0.8, rng);
  auto packed =
      PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
  ASSERT_TRUE(packed.ok());
  EXPECT_NEAR(packed->density(), 0.2, 0.03);  // + quad padding
  auto w24 = RandomSparse(SparsePattern::k2of4, n, k, 0, rng);
  auto p24 = PackedSparseInt8::Pack(SparsePattern::k2of4, w24.data(), n, k);
  ASSERT_TRUE(p24.ok());
  EXPECT_DOUBLE_EQ(p24->density(), 0.5);
}

TEST(SparseFormatTest, RejectsPatternViolations) {
  std::vector<int8_t> w(8 * 8, 0);
  w[1 * 8 + 4] = 3;
  w[1 * 8 + 6] = -2;
  EXPECT_TRUE(
      PackedSparseInt8::Pack(SparsePattern::k2of4, w.data(), 8, 8).ok());
  auto s = PackedSparseInt8::Pack(SparsePattern::k1of4, w.data(), 8, 8);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("row 1 group 1"));
  w[1 * 8 + 5] = 7;  // three non-zeros in group 1 of row 1
  s = PackedSparseInt8::Pack(SparsePattern::k2of4, w.data(), 8, 8);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("more than 2 non-zeros"));
  // N:M needs K % 4 == 0; 4x1 needs N % 4 == 0; -128 is rejected.
  std::vector<int8_t> z(12 * 6, 0);
  EXPECT_THAT(PackedSparseInt8::Pack(SparsePattern::k2of4, z.data(), 12, 6)
                  .status()
                  .message(),
              HasSubstr("multiple of 4"));
  EXPECT_THAT(PackedSparseInt8::Pack(SparsePattern::kBlock4x1, z.data(), 6, 12)
                  .status()
                  .message(),
              HasSubstr("not a multiple of 4"));
  z[5] = -128;
  EXPECT_THAT(PackedSparseInt8::Pack(SparsePattern::kBlock4x1, z.data(), 4, 12)
                  .status()
                  .message(),
              HasSubstr("-128"));
  EXPECT_FALSE(
      PackedSparseInt8::Pack(SparsePattern::kBlock4x1, z.data(), 4, 0).ok());
  EXPECT_FALSE(
      PackedSparseInt8::Pack(SparsePattern::kBlock4x1, nullptr, 4, 4).ok());
  EXPECT_FALSE(
      PackedSparseInt8::Pack(SparsePattern::kBlock4x1, z.data(), 4, 70000)
          .ok());
}

TEST(SparseFormatTest, CorruptBlobsAreRejected) {
  std::mt19937 rng(12);
  for (SparsePattern p : kPatterns) {
    const int n = 24, k = 64;
    auto wq = RandomSparse(p, n, k, 0.6, rng);
    auto packed = PackedSparseInt8::Pack(p, wq.data(), n, k);
    ASSERT_TRUE(packed.ok());
    const std::string good = packed->ToBytes();
    // Every truncation.
    for (size_t len = 0; len < good.size(); ++len) {
      EXPECT_FALSE(PackedSparseInt8::FromBytes(good.substr(0, len)).ok())
          << "len " << len;
    }
    // Extra trailing byte, every single-byte flip.
    EXPECT_FALSE(PackedSparseInt8::FromBytes(good + "x").ok());
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] ^= 0x5a;
      EXPECT_FALSE(PackedSparseInt8::FromBytes(bad).ok()) << "byte " << i;
    }
    // Random garbage that passes the checksum, after a valid header.
    for (int trial = 0; trial < 200; ++trial) {
      std::string bad = good;
      for (int f = 0; f < 3; ++f) {
        const size_t i = 24 + rng() % (bad.size() - 32);
        bad[i] = static_cast<char>(rng());
      }
      Reseal(&bad);
      auto r = PackedSparseInt8::FromBytes(bad);
      if (r.ok()) {  // accepted only if it is still a valid packing
        auto again = PackedSparseInt8::Pack(p, r->ToDense().data(), n, k);
        EXPECT_TRUE(again.ok());
      }
    }
  }
}

TEST(SparseFormatTest, StructuralCorruptionWithValidChecksum) {
  std::vector<int8_t> w(4 * 8, 0);
  w[3] = 5;
  auto packed =
      PackedSparseInt8::Pack(SparsePattern::kBlock4x1, w.data(), 4, 8);
  ASSERT_TRUE(packed.ok());
  std::string bad = packed->ToBytes();
  // Layout: 24-byte header, row_ptr[2] (8 bytes), col[4] (8 bytes), vals.
  const uint16_t big_col = 100;  // >= K
  std::memcpy(bad.data() + 24 + 8, &big_col, 2);
  Reseal(&bad);
  auto r = PackedSparseInt8::FromBytes(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(">= K"));
  bad = packed->ToBytes();
  const uint32_t big_ptr = 8;  // row_ptr[1] beyond the 4 stored blocks
  std::memcpy(bad.data() + 24 + 4, &big_ptr, 4);
  Reseal(&bad);
  EXPECT_FALSE(PackedSparseInt8::FromBytes(bad).ok());
  bad = packed->ToBytes();
  bad[24 + 8 + 8] = static_cast<char>(-128);
  Reseal(&bad);
  EXPECT_FALSE(PackedSparseInt8::FromBytes(bad).ok());
}

}  // namespace
}  // namespace fastrel
