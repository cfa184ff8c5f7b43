#include "engine/kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace fastrel {
namespace {

uint64_t Xgetbv() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE;
  const bool avx = c & bit_AVX, fma = c & bit_FMA, f16c = c & bit_F16C;
  if (!osxsave) return f;
  const uint64_t xcr0 = Xgetbv();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & bit_AVX2;
  f.avx2 = os_ymm && avx && avx2 && fma && f16c;
  f.avx512 = os_zmm && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
             (b & bit_AVX512VL) && (b & bit_AVX512DQ);
  f.avx512_vnni = f.avx512 && (c & bit_AVX512VNNI);
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  f.amx_int8 = os_amx && amx_tile && amx_int8;
  __cpuid_count(7, 1, a, b, c, d);
  f.avx_vnni = f.avx2 && (a & (1u << 4));

  if (const char* cap = std::getenv("FASTREL_CPU_MAX")) {
    if (std::strcmp(cap, "scalar") == 0) {
      f = CpuFeatures{};
    } else if (std::strcmp(cap, "avx2") == 0) {
      f.avx512 = f.avx512_vnni = f.avx_vnni = f.amx_int8 = false;
    } else if (std::strcmp(cap, "avx512") == 0) {
      f.amx_int8 = false;
    }
  }
  return f;
}

}  // namespace

std::string CpuFeatures::ToString() const {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(avx_vnni, "avx_vnni");
  add(avx512, "avx512");
  add(avx512_vnni, "avx512_vnni");
  add(amx_int8, "amx_int8");
  return s.empty() ? "scalar" : s;
}

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace fastrel
