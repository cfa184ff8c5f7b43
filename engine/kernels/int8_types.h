// Shared enums for the int8 kernels (quantization, sparse and dense int8 GEMM).
#ifndef FASTREL_ENGINE_KERNELS_INT8_TYPES_H_
#define FASTREL_ENGINE_KERNELS_INT8_TYPES_H_

namespace fastrel {

// Which implementation a kernel entry point runs. kAuto picks the best one
// this CPU supports (GetCpuFeatures(), capped by FASTREL_CPU_MAX); the others
// force one path (tests, benchmarks). Forcing a path the CPU lacks is an
// error (absl::FailedPreconditionError), never an illegal instruction.
enum class KernelIsa {
  kAuto,
  kRef,         // plain scalar C++ reference, always available
  kAvx2,        // AVX2 (+FMA)
  kAvx512Vnni,  // AVX-512 F/BW/VL + VNNI (vpdpbusd)
};

const char* KernelIsaName(KernelIsa isa);

// Activation code type of the int8 GEMMs: s8 (symmetric quantization) or u8
// (asymmetric, with a per-token zero point handled by the Epilogue).
enum class ActType { kS8, kU8 };

// Resolves kAuto to the best ISA available here; any other value is
// returned unchanged (check it with IsaAvailable()).
KernelIsa ResolveIsa(KernelIsa isa);

// True when this CPU (after the FASTREL_CPU_MAX cap) can run `isa`.
bool IsaAvailable(KernelIsa isa);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_INT8_TYPES_H_
