// Derived run-time layout of 4x1 sparse weights for the AVX2 u8 x s8 kernel
// (sparse_4x1_avx2.cc): the kept blocks of each row block reordered into
// "safe pairs" so that vpmaddubsw can multiply them without saturation.
//
// vpmaddubsw computes sat16(a0 * b0 + a1 * b1) for u8 a and s8 b. With
// activations a in [0, 255] (u8 codes as they are, s8 codes + 128) and a
// pair of weights (w0, w1) of one channel, the true sum lies in
// [-255 * (neg(w0) + neg(w1)), 255 * (pos(w0) + pos(w1))] with
// pos(w) = max(w, 0), neg(w) = max(-w, 0). It fits int16 (no saturation,
// so the result is exact) for EVERY activation value iff
//   pos(w0) + pos(w1) <= 128  and  neg(w0) + neg(w1) <= 128
// (255 * 128 = 32640 <= 32767). Two blocks form a safe pair when this holds
// for all 4 channels. Pairs of opposite signs and of small weights always
// are; a block without a safe partner is paired with a zero block.
//
// Layout (per row block rb, blocks [row_ptr[rb], row_ptr[rb + 1]), a
// multiple of 4 = whole "quads" of 2 safe pairs: slots 0-1 and 2-3):
//   off32[b]  uint32  input channel of block b times 32 (the byte offset of
//                     its activation row in the kernel's scratch)
//   val[16q + 4j + s] int8  weight of channel 4rb + j in slot s of quad q
//                     (one dword per channel: the broadcast operand)
// Zero padding blocks have off32 = 0 and zero weights. All-zero blocks of
// the input are dropped. The int32 sums are the same as the input's.
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_4X1_PAIRS_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_4X1_PAIRS_H_

#include <cstdint>
#include <vector>

namespace fastrel::internal {

// Largest pos / neg weight sum of a safe pair (see file comment).
constexpr int kUbsPairLimit = 128;

// True when weights (w0, w1) of one channel can share a vpmaddubsw pair for
// any u8 activations.
inline bool UbsPairSafe(int w0, int w1) {
  const int pos = (w0 > 0 ? w0 : 0) + (w1 > 0 ? w1 : 0);
  const int neg = (w0 < 0 ? -w0 : 0) + (w1 < 0 ? -w1 : 0);
  return pos <= kUbsPairLimit && neg <= kUbsPairLimit;
}

struct Ubs4x1Layout {
  std::vector<uint32_t> row_ptr;  // [n / 4 + 1] block offsets
  std::vector<uint32_t> off32;    // [blocks]
  std::vector<int8_t> val;        // [blocks * 4]
};

// Builds the layout from the PackedSparseInt8 4x1 arrays (row_ptr over
// blocks, col per block, val quads [channel][slot]; see sparse_format.h).
// n is the number of output channels (a multiple of 4). Pure function.
Ubs4x1Layout BuildUbs4x1Layout(int n, const std::vector<uint32_t>& row_ptr,
                               const std::vector<uint16_t>& col,
                               const std::vector<int8_t>& val);

}  // namespace fastrel::internal

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_4X1_PAIRS_H_
