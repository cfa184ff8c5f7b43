#include "engine/kernels/sparse_4x1_pairs.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/sparse_format.h"
#include "engine/kernels/sparse_gemm.h"

namespace fastrel::internal {
namespace {

using testing_util::RandomSparse;

TEST(Sparse4x1PairsTest, PairSafetyBoundary) {
  EXPECT_TRUE(UbsPairSafe(127, 1));
  EXPECT_TRUE(UbsPairSafe(64, 64));
  EXPECT_FALSE(UbsPairSafe(64, 65));
  EXPECT_TRUE(UbsPairSafe(-127, -1));
  EXPECT_FALSE(UbsPairSafe(-127, -2));
  EXPECT_TRUE(UbsPairSafe(127, -127));  // opposite signs never saturate
  EXPECT_TRUE(UbsPairSafe(127, 0));
}

// Dense [n x k] matrix of a layout (each block adds into its column).
std::vector<int8_t> LayoutToDense(const Ubs4x1Layout& lay, int n, int k) {
  std::vector<int8_t> w(static_cast<size_t>(n) * k, 0);
  for (int rb = 0; rb < n / 4; ++rb) {
    for (uint32_t b = lay.row_ptr[rb]; b < lay.row_ptr[rb + 1]; ++b) {
      const int col = static_cast<int>(lay.off32[b] / 32);
      for (int j = 0; j < 4; ++j) {
        const int8_t v = lay.val[16 * (b / 4) + 4 * j + b % 4];
        int8_t& dst = w[static_cast<size_t>(4 * rb + j) * k + col];
        if (v != 0) {
          EXPECT_EQ(dst, 0) << "column " << col << " twice in row block " << rb;
          dst = v;
        }
      }
    }
  }
  return w;
}

TEST(Sparse4x1PairsTest, LayoutKeepsMatrixAndPairsAreSafe) {
  std::mt19937 rng(40);
  for (auto [n, k, sparsity] :
       {std::tuple{64, 256, 0.8}, {8, 1000, 0.0}, {4, 3, 0.5}, {36, 77, 0.9}}) {
    auto wq = RandomSparse(SparsePattern::kBlock4x1, n, k, sparsity, rng);
    auto w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
    ASSERT_TRUE(w.ok()) << w.status();
    const Ubs4x1Layout& lay = w->ubs4x1();
    ASSERT_EQ(lay.row_ptr.size(), static_cast<size_t>(n / 4 + 1));
    ASSERT_EQ(lay.off32.size(), lay.row_ptr.back());
    ASSERT_EQ(lay.val.size(), 4 * lay.off32.size());
    EXPECT_EQ(LayoutToDense(lay, n, k), wq);
    for (size_t q = 0; q < lay.off32.size() / 4; ++q) {
      for (int j = 0; j < 4; ++j) {
        for (int p = 0; p < 2; ++p) {
          EXPECT_TRUE(UbsPairSafe(lay.val[16 * q + 4 * j + 2 * p],
                                  lay.val[16 * q + 4 * j + 2 * p + 1]))
              << "quad " << q << " channel " << j << " pair " << p;
        }
      }
    }
    for (size_t rb = 0; rb + 1 < lay.row_ptr.size(); ++rb) {
      EXPECT_EQ(lay.row_ptr[rb] % 4, 0u);
    }
  }
}

// Weights of +-64 pair with anything of the same magnitude: no singleton
// padding beyond the last quad (fails if pairing is disabled).
TEST(Sparse4x1PairsTest, CompatibleBlocksArePaired) {
  const int n = 4, k = 40;
  std::vector<int8_t> wq(n * k);
  for (size_t i = 0; i < wq.size(); ++i) wq[i] = (i % 3 == 0) ? -64 : 64;
  auto w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->ubs4x1().off32.size(), 40u);
  // +-65: blocks pair only across signs (65 + 65 > 128).
  for (int kk = 0; kk < k; ++kk) {
    for (int j = 0; j < n; ++j) wq[j * k + kk] = kk < 30 ? 65 : -65;
  }
  w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
  ASSERT_TRUE(w.ok());
  // 10 (+65, -65) pairs and 20 singletons: 30 pairs = 60 blocks.
  EXPECT_EQ(w->ubs4x1().off32.size(), 60u);
}

// Pairs exactly at the int16 limit with the activations that reach it
// (u8 255 / 0, s8 127 / -128): the AVX2 kernel stays exact.
TEST(Sparse4x1PairsTest, BoundaryPairsAreExactOnAvx2) {
  if (!IsaAvailable(KernelIsa::kAvx2)) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(41);
  const int n = 16, k = 512;
  std::vector<int8_t> wq(n * k);
  const int8_t vals[] = {64, -64, 127, 1, -127, -1, 100, 28, -100, -28};
  for (size_t i = 0; i < wq.size(); ++i) wq[i] = vals[rng() % 10];
  auto w = PackedSparseInt8::Pack(SparsePattern::kBlock4x1, wq.data(), n, k);
  ASSERT_TRUE(w.ok());
  for (int m : {1, 16, 19}) {
    for (bool u8 : {false, true}) {
      std::vector<uint8_t> x(static_cast<size_t>(m) * k);
      const uint8_t lo = u8 ? 0 : 0x80, hi = u8 ? 255 : 127;
      for (size_t i = 0; i < x.size(); ++i) x[i] = (rng() & 1) ? hi : lo;
      for (int t = 0; t < m && t < 2; ++t) {  // rows of only lo / only hi
        std::fill(x.begin() + t * k, x.begin() + (t + 1) * k, t ? hi : lo);
      }
      std::vector<int32_t> got(m * n), want(m * n);
      for (KernelIsa isa : {KernelIsa::kRef, KernelIsa::kAvx2}) {
        int32_t* out = isa == KernelIsa::kRef ? want.data() : got.data();
        absl::Status s =
            u8 ? SparseGemmInt32(*w, x.data(), m, k, out, n, isa)
               : SparseGemmInt32(*w, reinterpret_cast<const int8_t*>(x.data()),
                                 m, k, out, n, isa);
        ASSERT_TRUE(s.ok()) << s;
      }
      EXPECT_EQ(got, want) << "m=" << m << (u8 ? " u8" : " s8");
    }
  }
}

}  // namespace
}  // namespace fastrel::internal
