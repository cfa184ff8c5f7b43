// Run-time CPU feature detection (CPUID + XGETBV) for kernel dispatch.
#ifndef FASTREL_ENGINE_KERNELS_CPU_FEATURES_H_
#define FASTREL_ENGINE_KERNELS_CPU_FEATURES_H_

#include <string>

namespace fastrel {

// What this CPU and OS support. Features that need OS-saved register state
// (AVX, AVX-512, AMX) are only reported when XGETBV says the OS saves it.
struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA + F16C
  bool avx512 = false;       // AVX-512 F/BW/VL/DQ
  bool avx512_vnni = false;  // AVX-512 VNNI (vpdpbusd on zmm)
  bool avx_vnni = false;     // AVX-VNNI (vpdpbusd on ymm, VEX-encoded)
  bool amx_int8 = false;     // AMX tiles with int8 (also needs the OS permit)

  // e.g. "avx2 fma f16c avx512 avx512_vnni".
  std::string ToString() const;
};

// Detected once; thread-safe. Setting the environment variable
// FASTREL_CPU_MAX=avx2 (or "scalar") caps what is reported, so the slower
// paths can be exercised and compared on a bigger CPU.
const CpuFeatures& GetCpuFeatures();

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_CPU_FEATURES_H_
