#include "engine/kernels/roofline.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

namespace fastrel {
namespace {

double Now(bool thread_clock) {
  if (thread_clock) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Best (minimum) time: the roofline is a peak, and on a shared machine the
// minimum is the run least disturbed by other processes.
double BestSeconds(const std::function<void()>& fn, int reps,
                   bool thread_clock) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now(thread_clock);
    fn();
    best = std::min(best, Now(thread_clock) - t0);
  }
  return best;
}

}  // namespace

OneDnnGemm::OneDnnGemm(dnnl::memory::data_type src_dt,
                       dnnl::memory::data_type wei_dt,
                       dnnl::memory::data_type dst_dt, int m, int k, int n)
    : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc s({m, k}, src_dt, tag::ab);
  const dnnl::memory::desc w({k, n}, wei_dt, tag::any);
  const dnnl::memory::desc d({m, n}, dst_dt, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(s, w, d), eng_);
  impl_ = pd.impl_info_str();
  src_ = dnnl::memory(pd.src_desc(), eng_);
  wei_ = dnnl::memory(pd.weights_desc(), eng_);
  dst_ = dnnl::memory(pd.dst_desc(), eng_);
  // Deterministic small values (content does not change the speed).
  for (auto* mem : {&src_, &wei_}) {
    auto* p = static_cast<uint8_t*>(mem->get_data_handle());
    const size_t bytes = mem->get_desc().get_size();
    for (size_t i = 0; i < bytes; ++i) p[i] = (i * 7) % 5;
  }
  prim_ = dnnl::matmul(pd);
}

void OneDnnGemm::Run() {
  prim_.execute(
      strm_,
      {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}});
  strm_.wait();
}

Roofline MeasureRoofline(bool thread_clock, int gemm_mnk) {
  using dt = dnnl::memory::data_type;
  const int s = gemm_mnk;
  const double ops = 2.0 * s * s * s;
  Roofline r;
  r.gemm_mnk = s;
  OneDnnGemm i8(dt::u8, dt::s8, dt::s32, s, s, s);
  r.int8_gops = ops / BestSeconds([&] { i8.Run(); }, 7, thread_clock) / 1e9;
  r.int8_impl = i8.impl();
  OneDnnGemm f32(dt::f32, dt::f32, dt::f32, s, s, s);
  r.fp32_gflops = ops / BestSeconds([&] { f32.Run(); }, 5, thread_clock) / 1e9;
  r.fp32_impl = f32.impl();
  return r;
}

}  // namespace fastrel
