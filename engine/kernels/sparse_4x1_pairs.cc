#include "engine/kernels/sparse_4x1_pairs.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace fastrel::internal {
namespace {

struct Block {
  uint32_t col;
  std::array<int8_t, 4> w;  // channel j
  int mag;                  // max |w|: pairing order
};

bool Safe(const Block& a, const Block& b) {
  for (int j = 0; j < 4; ++j) {
    if (!UbsPairSafe(a.w[j], b.w[j])) return false;
  }
  return true;
}

}  // namespace

Ubs4x1Layout BuildUbs4x1Layout(int n, const std::vector<uint32_t>& row_ptr,
                               const std::vector<uint16_t>& col,
                               const std::vector<int8_t>& val) {
  Ubs4x1Layout out;
  const int nrb = n / 4;
  out.row_ptr.assign(nrb + 1, 0);
  std::vector<Block> blocks;
  std::vector<const Block*> pairs;  // 2 entries per pair, nullptr = zero
  std::vector<bool> used;
  for (int rb = 0; rb < nrb; ++rb) {
    blocks.clear();
    for (uint32_t b = row_ptr[rb]; b < row_ptr[rb + 1]; ++b) {
      Block blk{col[b], {}, 0};
      for (int j = 0; j < 4; ++j) {
        blk.w[j] = val[size_t{16} * (b / 4) + 4 * j + b % 4];
        blk.mag = std::max(blk.mag, std::abs(int{blk.w[j]}));
      }
      if (blk.mag > 0) blocks.push_back(blk);
    }
    // Largest first; each takes the smallest unused safe partner (small
    // blocks pair with anything, so they are kept for the large ones).
    std::stable_sort(
        blocks.begin(), blocks.end(),
        [](const Block& a, const Block& b) { return a.mag > b.mag; });
    // The scan is bounded (kMaxScan candidates) to keep loading linear.
    constexpr size_t kMaxScan = 256;
    used.assign(blocks.size(), false);
    pairs.clear();
    size_t end = blocks.size();  // used[end..) all true
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (used[i]) continue;
      used[i] = true;
      while (end > i + 1 && used[end - 1]) --end;
      const Block* partner = nullptr;
      const size_t stop = end > i + 1 + kMaxScan ? end - kMaxScan : i + 1;
      for (size_t p = end; p-- > stop;) {
        if (!used[p] && Safe(blocks[i], blocks[p])) {
          used[p] = true;
          partner = &blocks[p];
          break;
        }
      }
      pairs.push_back(&blocks[i]);
      pairs.push_back(partner);
    }
    if (pairs.size() % 4 != 0) pairs.resize(pairs.size() + 2, nullptr);
    const size_t q0 = out.off32.size() / 4;
    out.off32.resize(out.off32.size() + pairs.size(), 0);
    out.val.resize(out.val.size() + pairs.size() * 4, 0);
    for (size_t s = 0; s < pairs.size(); ++s) {
      if (pairs[s] == nullptr) continue;
      const size_t q = q0 + s / 4;
      out.off32[4 * q + s % 4] = pairs[s]->col * 32;
      for (int j = 0; j < 4; ++j) {
        out.val[16 * q + 4 * j + s % 4] = pairs[s]->w[j];
      }
    }
    out.row_ptr[rb + 1] = static_cast<uint32_t>(out.off32.size());
  }
  return out;
}

}  // namespace fastrel::internal
