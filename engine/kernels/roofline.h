// This CPU's single-thread dense GEMM peak ("roofline"): large oneDNN int8 and
// fp32 matmuls. Moved out of fastrel-kernel-bench so fastrel-bench can report
// a model's effective throughput against it.
#ifndef FASTREL_ENGINE_KERNELS_ROOFLINE_H_
#define FASTREL_ENGINE_KERNELS_ROOFLINE_H_

#include <string>

#include "oneapi/dnnl/dnnl.hpp"

namespace fastrel {

// Dense fp32 / int8 matmul with a fixed shape (the best case for oneDNN):
// [m, k] x [k, n], weights in oneDNN's preferred layout, deterministic small
// values. Uses the calling thread's OpenMP thread count.
// Thread safety: not thread-safe.
class OneDnnGemm {
 public:
  OneDnnGemm(dnnl::memory::data_type src_dt, dnnl::memory::data_type wei_dt,
             dnnl::memory::data_type dst_dt, int m, int k, int n);
  // Runs the matmul once (and waits).
  void Run();
  // oneDNN's implementation name, e.g. "brg:avx512_core_vnni".
  const std::string& impl() const { return impl_; }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::matmul prim_;
  dnnl::memory src_, wei_, dst_;
  std::string impl_;
};

// Peak dense throughput of one thread.
struct Roofline {
  int gemm_mnk = 0;
  double int8_gops = 0;    // u8 x s8 -> s32
  double fp32_gflops = 0;  // f32
  std::string int8_impl, fp32_impl;
};

// Times gemm_mnk^3 oneDNN matmuls on the calling thread: best of 7 (int8) /
// 5 (fp32) runs after one warm-up, on this thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID, robust on a shared machine) or the steady clock.
// Takes about a second; call with OpenMP set to one thread for a per-core
// figure.
Roofline MeasureRoofline(bool thread_clock = true, int gemm_mnk = 2048);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_KERNELS_ROOFLINE_H_
