// Sparse int8 weights x dense int8 activations GEMM:
//   acc[m][n] = sum_k x[m][k] * Wq[n][k]      (exact int32)
// for weights packed by PackedSparseInt8 (4x1 blocks, 2:4, 1:4) and
// activations [M x K] row-major, either s8 (QuantizeRowsSymmetric /
// QuantizeStatic; any s8 value including -128 is accepted) or u8
// (QuantizeRowsAsymmetric; pass the zero points and w.col_sums() in the
// Epilogue), followed by an optional fused Epilogue (epilogue.h) applied per
// 16-token row tile.
//
// Exact accumulation (no saturation anywhere):
//  * _ref: int32 multiply-add.
//  * AVX2 4x1: u8 activations (s8 codes fed as x + 128 = x ^ 0x80, and each
//    channel's sum starts at -128 * sum_k Wq[n][k]) times s8 weights through
//    vpmaddubsw on "safe pairs" of kept blocks: blocks are regrouped at load
//    (sparse_4x1_pairs.h) so that, per channel, the positive and the
//    negative weights of a pair each sum to <= 128; then every u8 x s8 pair
//    sum is within 255 * 128 = 32640 and vpmaddubsw never saturates.
//    vpmaddwd by 1 widens to int32, vpaddd accumulates.
//  * AVX2 N:M: vpshufb gathers each row's 4 non-zero activations, then the
//    sign trick: vpmaddubsw(|x|, sign(w, x)) with |x| <= 128 and
//    |w| <= 127 (Pack rejects -128): 2 * 128 * 127 = 32512 <= 32767, so the
//    s16 pair sums are exact; vpmaddwd by 1 widens to int32. u8 activations
//    are shifted to s8 (x ^ 0x80 = x - 128) and 128 * col_sum[n] added back.
//  * AVX-512 VNNI (4x1 and N:M): vpdpbusd needs u8 activations, so x + 128
//    (x ^ 0x80) is fed and 128 * sum_k Wq[n][k] is subtracted at the end
//    (the compensation term); u8 activations are fed as they are. vpdpbusd does
//    not saturate (4 * 255 * 127 per step, int32 adds wrap), and the final
//    int32 is exact by K <= 65535.
// int32 accumulators never overflow: |acc| <= K * 255 * 127 < 2^31 for the
// K <= 65535 that Pack allows.
//
// Register tiles (why this layout):
//  * 4x1 AVX2: per 16-token tile, activations are transposed to bytes,
//    32 per input channel (tokens 0-7 in the low and 8-15 in the high
//    128-bit lane), so one quad of kept blocks (4 channels x 4 k) is 4 row
//    loads and 4 in-lane unpacks into 2 ymm of 8 tokens x 4 k bytes, then per
//    channel one broadcast weight dword and 2 x (vpmaddubsw, vpmaddwd by 1,
//    vpaddd) into a 4 x 16 int32 tile held in 8 ymm. Per quad (256 MACs):
//    4 broadcasts, 16 multiply uops, 8 vpaddd (the int16 vpmaddwd kernel
//    before it needed 8 broadcasts, 16 vpmaddwd and 16 vpaddd: ~9 instead
//    of ~12.6 cycles per quad on Zen 3 by llvm-mca). A 32-token tile would
//    need 16 accumulators plus the activations, more than the 16 ymm
//    registers. Adding the
//    vpmaddubsw results of two quads in int16 before widening (exact for
//    lanes of 4 blocks within the same budget) was tried and measured slower
//    on Zen 4 (fewer full lanes, more padding; bench/results/avx2k-*.md).
//  * Both 4x1 kernels address activation rows by byte offsets precomputed
//    at load (PackedSparseInt8::col_off32, ubs4x1().off32) and collect the
//    results of 8 row blocks in a small buffer before writing 32 columns per
//    output row: the 16-byte pieces written straight to 16-64 rows 1-4 KB apart
//    all land in one L1 set (N = 1024 was 1.5x slower with 64-token tiles).
//  * 4x1 VNNI: up to 64 tokens per tile (zmm; 32 / 16 tokens use ymm / xmm
//    for small or ragged tiles). Activations are transposed once per tile to
//    bytes [K][64 tokens] (x + 128 for s8); per quad of kept blocks the 4
//    activation rows are byte-interleaved by 8 unpacks into 4 registers of
//    16 tokens x (4 k bytes), each fed to 4 vpdpbusd (one broadcast weight
//    dword per channel): 16 vpdpbusd = 1024 MACs per quad in 16
//    accumulators (64 tokens x 4 channels), so each weight and column index
//    feeds 64 tokens.
//  * N:M: lanes are output rows (8 per ymm / 16 per zmm); each row's 4
//    non-zero activations of a chunk are gathered by one vpshufb from the
//    token's 16-byte activation window, weights are the packed 4-byte slots.
//
// The feed-forward pair (FFN in with GELU, FFN out) has its own fused AVX2
// 4x1 path that keeps the intermediate activations in the tile's scratch:
// sparse_ffn.h.
//
// Thread-safety: the functions are reentrant; each call uses thread-local
// scratch. The caller runs one call per thread (workers are single threaded).
#ifndef FASTREL_ENGINE_KERNELS_SPARSE_GEMM_H_
#define FASTREL_ENGINE_KERNELS_SPARSE_GEMM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/kernels/epilogue.h"
#include "engine/kernels/int8_types.h"
#include "engine/kernels/sparse_format.h"

namespace fastrel {

// acc [m x w.n()] (row stride ldc >= n) = x [m x w.k()] (row stride
// ldx >= k) * Wq^T. m >= 0. Errors: InvalidArgument for bad shapes / null
// pointers, FailedPrecondition when `isa` is forced but unavailable.
absl::Status SparseGemmInt32(const PackedSparseInt8& w, const int8_t* x, int m,
                             int64_t ldx, int32_t* acc, int64_t ldc,
                             KernelIsa isa = KernelIsa::kAuto);
// Same with u8 activations: acc = sum_k x[m][k] * Wq[n][k] (raw codes; the
// zero point is removed by the Epilogue with w.col_sums()).
absl::Status SparseGemmInt32(const PackedSparseInt8& w, const uint8_t* x, int m,
                             int64_t ldx, int32_t* acc, int64_t ldc,
                             KernelIsa isa = KernelIsa::kAuto);

// Same GEMM with the epilogue fused per 16-token tile (the int32 tile lives
// in thread-local scratch and never reaches memory as a full matrix).
// Tiles are 16 tokens (64 for the VNNI 4x1 kernel).
absl::Status SparseGemm(const PackedSparseInt8& w, const int8_t* x, int m,
                        int64_t ldx, const Epilogue& ep,
                        KernelIsa isa = KernelIsa::kAuto);
absl::Status SparseGemm(const PackedSparseInt8& w, const uint8_t* x, int m,
                        int64_t ldx, const Epilogue& ep,
                        KernelIsa isa = KernelIsa::kAuto);

namespace internal {
// Tile kernels: tokens [0, mt) of x (mt <= the kernel's tile: kSparseTileM,
// or kSparseTileMVnni4x1 for Sparse4x1TileVnni; int8_t or uint8_t per act),
// all n outputs, into out (row stride ldo). No argument checks.
using SparseTileKernel = void (*)(const PackedSparseInt8& w, const void* x,
                                  ActType act, int64_t ldx, int mt,
                                  int32_t* out, int64_t ldo);
void Sparse4x1TileRef(const PackedSparseInt8& w, const void* x, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo);
void Sparse4x1TileAvx2(const PackedSparseInt8& w, const void* x, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo);
// The AVX2 4x1 tile on activations already in its scratch layout
// (sparse_4x1_avx2_core.h: 32 bytes per input channel, x + 128 for s8 codes,
// shift = 128; u8 codes as they are, shift = 0). next_tile: address of the
// next tile's first activation row to prefetch (row stride next_ldx), or 0.
void Sparse4x1ScratchTileAvx2(const PackedSparseInt8& w, const uint8_t* xt,
                              int32_t shift, uintptr_t next_tile,
                              int64_t next_ldx, int mt, int32_t* out,
                              int64_t ldo);
// The VNNI 4x1 tile at 64 tokens on activations already transposed
// (sparse_vnni_core.h: 64 bytes per input channel, x + 128 for s8 codes).
// Needs IsaAvailable(kAvx512Vnni).
void Sparse4x1ScratchTileVnni64(const PackedSparseInt8& w, const uint8_t* xq,
                                bool s8, int mt, int32_t* out, int64_t ldo);
void Sparse4x1TileVnni(const PackedSparseInt8& w, const void* x, ActType act,
                       int64_t ldx, int mt, int32_t* out, int64_t ldo);
void SparseNMTileRef(const PackedSparseInt8& w, const void* x, ActType act,
                     int64_t ldx, int mt, int32_t* out, int64_t ldo);
void SparseNMTileAvx2(const PackedSparseInt8& w, const void* x, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo);
void SparseNMTileVnni(const PackedSparseInt8& w, const void* x, ActType act,
                      int64_t ldx, int mt, int32_t* out, int64_t ldo);
// Row stride (int32 elements) of an int32 result tile with n columns: rows a
// multiple of 2 KB apart (n = 1024, 3072) map the kernels' per-row-block
// stores to one L1 set; 64 bytes of padding spreads them.
inline int64_t Int32TileStride(int n) { return n % 512 == 0 ? n + 16 : n; }
constexpr int kSparseTileM = 16;
constexpr int kSparseTileMVnni4x1 = 64;
}  // namespace internal

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_SPARSE_GEMM_H_
