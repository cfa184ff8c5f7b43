#include "engine/kernels/int8_types.h"

#include "engine/kernels/cpu_features.h"

namespace fastrel {

const char* KernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAuto:
      return "auto";
    case KernelIsa::kRef:
      return "ref";
    case KernelIsa::kAvx2:
      return "avx2";
    case KernelIsa::kAvx512Vnni:
      return "avx512_vnni";
  }
  return "?";
}

bool IsaAvailable(KernelIsa isa) {
  const CpuFeatures& f = GetCpuFeatures();
  switch (isa) {
    case KernelIsa::kAuto:
    case KernelIsa::kRef:
      return true;
    case KernelIsa::kAvx2:
      return f.avx2;
    case KernelIsa::kAvx512Vnni:
      return f.avx2 && f.avx512 && f.avx512_vnni;
  }
  return false;
}

KernelIsa ResolveIsa(KernelIsa isa) {
  if (isa != KernelIsa::kAuto) return isa;
  if (IsaAvailable(KernelIsa::kAvx512Vnni)) return KernelIsa::kAvx512Vnni;
  if (IsaAvailable(KernelIsa::kAvx2)) return KernelIsa::kAvx2;
  return KernelIsa::kRef;
}

}  // namespace fastrel
