// Packed sparse int8 weights for the sparse GEMM kernels (sparse_gemm.h).
//
// Input (from the compression compiler): a dense int8 matrix Wq [N x K]
// (PyTorch layout, row n = output channel n), zero outside the sparsity
// pattern, values in [-127, 127] (symmetric; -128 is rejected), plus per
// channel fp32 scales kept by the caller (W ~= scale[n] * Wq[n][k]).
//
// Patterns:
//  * kBlock4x1: blocks of 4 consecutive output channels x 1 input channel;
//    a block is kept when any of its 4 values is non-zero. Every matrix is
//    representable; N must be a multiple of 4 (else InvalidArgument: pad the
//    layer to a multiple of 4 channels).
//  * k2of4 / k1of4 (N:M along K): in every group of 4 consecutive input
//    channels k = 4g..4g+3 of one output row, at most 2 (resp. 1) non-zeros.
//    K must be a multiple of 4. A Wq violating this is rejected with the
//    offending row and group in the message.
//  Unstructured sparsity is not packed here: it runs on the dense int8 path
//  (int8_dense.h), which is faster than a generic CSR kernel at the 50-90%
//  densities BERT pruning gives.
//  Limits: 1 <= N, 1 <= K <= 65535 (uint16 indices; also keeps the int32
//  accumulation exact: K * 255 * 127 < 2^31).
//
// Run-time layout (also what the serialized bytes hold):
//  * 4x1: row blocks rb = 0..N/4-1 (channels 4rb..4rb+3). The kept blocks of
//    a row block, by increasing k, are padded with zero blocks (k index 0)
//    to a multiple of 4 and grouped in "quads" of 4 blocks.
//      row_ptr[N/4 + 1]  uint32, block offsets (multiples of 4)
//      col[nblocks]      uint16, input channel of each block
//      val[nblocks * 4]  int8, per quad 16 bytes [channel j][slot s] =
//                        Wq[4rb + j][col[4q + s]], i.e. one dword per channel
//                        holding its 4 weights: the vpdpbusd broadcast operand.
//  * N:M: rows padded to n_pad (multiple of 16) with zero rows, K to chunks
//    of span S = 8 (2:4: two groups) or 16 (1:4: four groups) so that one
//    chunk holds exactly 4 non-zero slots per row. Slot s of a chunk belongs
//    to group s / nnz_per_group. Per 16-row tile t, chunk c, row r, slot s:
//      idx[t][c][r][s]   uint8 in [0, S): k = c * S + idx (a vpshufb index)
//      val[t][c][r][s]   int8 weight (0 for padding slots)
//    so the 16 rows x 4 slots of one (tile, chunk) are 64 contiguous bytes.
//  Derived at load (not serialized): per-channel weight sums (VNNI signed
//  activation compensation, asymmetric-activation zero points) and, for 4x1,
//  the block columns as scratch byte offsets (col * 32) and the AVX2
//  kernel's reordered copy of the blocks (sparse_4x1_pairs.h).
//
// Serialized bytes (little-endian): "FRS8" | u32 version (1) | u32 pattern
// (1 = 4x1, 2 = 2:4, 3 = 1:4) | u32 N | u32 K | u32 count (blocks for 4x1,
// chunks for N:M) | arrays above | u64 FNV-1a of all preceding bytes.
// FromBytes checks the size, the checksum and every structural invariant
// (offsets, index ranges, value ranges, N:M slot groups), so a corrupt blob is
// an absl::Status error, never an out-of-bounds access.
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_FORMAT_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kernels/sparse_4x1_pairs.h"

namespace fastrel {

enum class SparsePattern { kBlock4x1 = 1, k2of4 = 2, k1of4 = 3 };

const char* SparsePatternName(SparsePattern p);

// Immutable packed sparse weights. Thread-safety: immutable after creation;
// any number of threads may run kernels on one instance concurrently.
class PackedSparseInt8 {
 public:
  // Packs wq [n x k] (row stride k) for `pattern`. Errors: InvalidArgument
  // for bad shapes, values of -128, or a matrix violating the pattern.
  static absl::StatusOr<PackedSparseInt8> Pack(SparsePattern pattern,
                                               const int8_t* wq, int n, int k);

  // Restores from ToBytes() output (copies the bytes). Errors:
  // DataLoss/InvalidArgument for truncated, corrupt or inconsistent blobs.
  static absl::StatusOr<PackedSparseInt8> FromBytes(std::string_view bytes);

  // Serialized form (see file comment); FromBytes(ToBytes()) == *this.
  std::string ToBytes() const;

  // Unpacks back to a dense [n x k] Wq (tests, debugging).
  std::vector<int8_t> ToDense() const;

  SparsePattern pattern() const { return pattern_; }
  int n() const { return n_; }
  int k() const { return k_; }
  // Stored non-zero slots including padding (4x1: 4 per block).
  int64_t stored_weights() const;
  // Fraction of Wq entries that are multiplied (stored_weights / (N*K)).
  double density() const;
  // sum_k Wq[n][k] per output channel [n] (for Epilogue::weight_col_sum).
  const std::vector<int32_t>& col_sums() const { return col_sum_; }

  // ---- Run-time arrays for the kernels (see file comment). ----
  const std::vector<uint32_t>& row_ptr() const { return row_ptr_; }
  const std::vector<uint16_t>& col() const { return col_; }
  const std::vector<int8_t>& val() const { return val_; }
  // 4x1 AVX2 (vpmaddubsw): blocks reordered into safe pairs, see
  // sparse_4x1_pairs.h for the layout and why.
  const internal::Ubs4x1Layout& ubs4x1() const { return ubs4x1_; }
  // 4x1: col()[b] * 32 per block b (uint32): the byte offset of the block's
  // activation row in the kernels' transposed scratch (32 bytes per input
  // channel; VNNI scales it by its row width / 32 in the address).
  const std::vector<uint32_t>& col_off32() const { return col_off32_; }
  const std::vector<uint8_t>& nm_idx() const { return nm_idx_; }
  int nnz_per_group() const { return pattern_ == SparsePattern::k2of4 ? 2 : 1; }
  int span() const { return 16 / nnz_per_group(); }  // N:M chunk width S
  int n_pad() const { return n_pad_; }
  int chunks() const { return chunks_; }

 private:
  PackedSparseInt8() = default;
  absl::Status Validate() const;  // structural invariants
  void Derive();                  // col_sum_, col_off32_, ubs4x1_

  SparsePattern pattern_ = SparsePattern::kBlock4x1;
  int n_ = 0, k_ = 0;
  int n_pad_ = 0, chunks_ = 0;       // N:M only
  std::vector<uint32_t> row_ptr_;    // 4x1
  std::vector<uint16_t> col_;        // 4x1
  std::vector<int8_t> val_;          // 4x1 quads or N:M values
  std::vector<uint8_t> nm_idx_;      // N:M
  internal::Ubs4x1Layout ubs4x1_;    // derived (4x1)
  std::vector<uint32_t> col_off32_;  // derived (4x1)
  std::vector<int32_t> col_sum_;     // derived
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_FORMAT_H_
