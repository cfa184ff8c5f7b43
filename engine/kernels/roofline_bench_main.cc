// fastrel-kernel-bench: single-thread, core-pinned benchmark of the int8
// kernels on BERT-mini / BERT-base linear-layer shapes, with an optional
// roofline (this CPU's large-GEMM oneDNN int8 and fp32 throughput).
//
//   fastrel-kernel-bench [--roofline] [--json=FILE] [--cpu=0] [--reps=5]
//                        [--m=3072,128] [--shapes=mini,base] [--isa=avx2,...]
//
// For every shape it times dense int8 (DenseInt8Gemm's automatic backend:
// oneDNN on VNNI CPUs; s8 x s8, int32 out), dense fp32 (oneDNN), our exact
// AVX2 dense int8 fallback (dense_int8_own) and the sparse kernels (4x1 at
// 50/70/80/90% block sparsity, 2:4, 1:4) per ISA, all producing int32/fp32 [M x
// N] from the same activations, and reports the median time, actual GOPS (2 * M
// * non-zero weights / t), effective dense-equivalent GOPS (2 * M * K * N / t),
// the ratio to dense int8 on the same shape, and (with --roofline) the % of the
// int8 roofline.
#include <omp.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/kernels/cpu_features.h"
#include "engine/kernels/int8_dense.h"
#include "engine/kernels/int8_test_util.h"
#include "engine/kernels/sparse_gemm.h"
#include "nlohmann/json.hpp"
#include "oneapi/dnnl/dnnl.hpp"

ABSL_FLAG(
    bool, roofline, false,
    "measure this CPU's dense int8 / fp32 GEMM peak (large oneDNN GEMMs)");
ABSL_FLAG(std::string, json, "", "write results as JSON to this file");
ABSL_FLAG(int, cpu, 0, "pin to this CPU core (-1: no pinning)");
ABSL_FLAG(int, reps, 5, "timed repetitions per kernel (median reported)");
ABSL_FLAG(std::string, m, "3072,128", "token counts M (comma separated)");
ABSL_FLAG(std::string, shapes, "mini,base", "shape sets: mini, base");
ABSL_FLAG(std::string, clock, "thread",
          "thread: this thread's CPU time (robust on a shared, oversubscribed "
          "machine: time spent descheduled is not counted); wall: steady "
          "clock");
ABSL_FLAG(std::string, kernels, "",
          "only these kernels (comma separated names as printed, e.g. "
          "dense_int8,4x1@80%); empty: all");
ABSL_FLAG(std::string, isa, "avx2,avx512_vnni",
          "sparse kernel ISAs to time (ref, avx2, avx512_vnni)");

namespace fastrel {
namespace {

using nlohmann::json;

bool g_thread_clock = true;

// Seconds on the chosen clock (see --clock).
double Now() {
  if (g_thread_clock) {
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
double BestSeconds(const std::function<void()>& fn, int reps) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now();
    fn();
    best = std::min(best, Now() - t0);
  }
  return best;
}

double MedianSeconds(const std::function<void()>& fn, int reps) {
  fn();  // warm up (caches, page faults, primitive JIT)
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now();
    fn();
    t.push_back(Now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Dense fp32 / int8 matmul with a fixed shape (the best case for oneDNN).
class OneDnnGemm {
 public:
  OneDnnGemm(dnnl::memory::data_type src_dt, dnnl::memory::data_type wei_dt,
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
  void Run() {
    prim_.execute(
        strm_,
        {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}});
    strm_.wait();
  }
  const std::string& impl() const { return impl_; }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::matmul prim_;
  dnnl::memory src_, wei_, dst_;
  std::string impl_;
};

struct Shape {
  std::string name;
  int k, n;
};

KernelIsa ParseIsa(const std::string& s) {
  if (s == "ref") return KernelIsa::kRef;
  if (s == "avx2") return KernelIsa::kAvx2;
  if (s == "avx512_vnni") return KernelIsa::kAvx512Vnni;
  return KernelIsa::kAuto;
}

int Main(const std::string& command) {
  omp_set_num_threads(1);
  g_thread_clock = absl::GetFlag(FLAGS_clock) != "wall";
  const int cpu = absl::GetFlag(FLAGS_cpu);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      std::perror("sched_setaffinity");
    }
  }
  const int reps = std::max(1, absl::GetFlag(FLAGS_reps));
  json out;
  out["command"] = command;
  out["cpu_features"] = GetCpuFeatures().ToString();
  out["threads"] = 1;
  out["pinned_cpu"] = cpu;
  out["reps"] = reps;
  out["clock"] = g_thread_clock ? "thread_cputime" : "wall";
  out["statistic"] = "median of reps (roofline: best of runs)";
  using dt = dnnl::memory::data_type;

  double int8_peak = 0, fp32_peak = 0;
  if (absl::GetFlag(FLAGS_roofline)) {
    const int s = 2048;
    const double ops = 2.0 * s * s * s;
    OneDnnGemm i8(dt::u8, dt::s8, dt::s32, s, s, s);
    int8_peak = ops / BestSeconds([&] { i8.Run(); }, 7) / 1e9;
    OneDnnGemm f32(dt::f32, dt::f32, dt::f32, s, s, s);
    fp32_peak = ops / BestSeconds([&] { f32.Run(); }, 5) / 1e9;
    out["roofline"] = {{"gemm_mnk", s},
                       {"method", "best of 7 (int8) / 5 (fp32) runs"},
                       {"int8_gops", int8_peak},
                       {"int8_impl", i8.impl()},
                       {"fp32_gflops", fp32_peak},
                       {"fp32_impl", f32.impl()}};
    absl::PrintF(
        "roofline (1 thread, %d^3 oneDNN matmul): int8 %.1f GOPS (%s), "
        "fp32 %.1f GFLOPS (%s)\n",
        s, int8_peak, i8.impl(), fp32_peak, f32.impl());
  }

  std::vector<Shape> shapes;
  for (absl::string_view set :
       absl::StrSplit(absl::GetFlag(FLAGS_shapes), ',')) {
    if (set == "mini") {
      shapes.push_back({"mini.qkvo", 256, 256});
      shapes.push_back({"mini.ffn1", 256, 1024});
      shapes.push_back({"mini.ffn2", 1024, 256});
    } else if (set == "base") {
      shapes.push_back({"base.qkvo", 768, 768});
      shapes.push_back({"base.ffn1", 768, 3072});
      shapes.push_back({"base.ffn2", 3072, 768});
    }
  }
  std::vector<int> ms;
  for (absl::string_view v : absl::StrSplit(absl::GetFlag(FLAGS_m), ',')) {
    ms.push_back(std::stoi(std::string(v)));
  }
  std::vector<KernelIsa> isas;
  for (absl::string_view v : absl::StrSplit(absl::GetFlag(FLAGS_isa), ',')) {
    const KernelIsa isa = ParseIsa(std::string(v));
    if (IsaAvailable(isa) && isa != KernelIsa::kAuto) isas.push_back(isa);
  }

  struct SparseCfg {
    std::string name;
    SparsePattern pattern;
    double sparsity;
  };
  const std::vector<SparseCfg> sparse_cfgs = {
      {"4x1@50%", SparsePattern::kBlock4x1, 0.5},
      {"4x1@70%", SparsePattern::kBlock4x1, 0.7},
      {"4x1@80%", SparsePattern::kBlock4x1, 0.8},
      {"4x1@90%", SparsePattern::kBlock4x1, 0.9},
      {"2:4", SparsePattern::k2of4, 0.0},
      {"1:4", SparsePattern::k1of4, 0.0}};

  std::vector<std::string> only;
  if (!absl::GetFlag(FLAGS_kernels).empty()) {
    only = absl::StrSplit(absl::GetFlag(FLAGS_kernels), ',');
  }
  auto wanted = [&](const std::string& name) {
    return only.empty() ||
           std::find(only.begin(), only.end(), name) != only.end();
  };
  json results = json::array();
  std::mt19937 rng(7);
  absl::PrintF("%-10s %5s %-12s %-12s %9s %9s %9s %8s %7s\n", "shape", "M",
               "kernel", "isa", "ms", "GOPS", "effGOPS", "xInt8", "%roof");
  for (const Shape& sh : shapes) {
    for (int m : ms) {
      const double dense_ops = 2.0 * m * sh.k * sh.n;
      auto x = testing_util::RandomInts<int8_t>(static_cast<size_t>(m) * sh.k,
                                                -127, 127, rng);
      std::vector<int32_t> acc(static_cast<size_t>(m) * sh.n);
      // Fused epilogue used by the "+epi" rows: dequantize, bias, GELU,
      // residual add, fp32 out (the FFN1 pattern minus the residual, plus
      // the residual to cover the output-projection pattern too).
      std::vector<float> sa(m, 0.01f), sw(sh.n, 0.01f), bias(sh.n, 0.1f);
      std::vector<float> res(static_cast<size_t>(m) * sh.n, 0.5f);
      std::vector<float> y(res.size());
      Epilogue ep;
      ep.act_scale = sa.data();
      ep.weight_scale = sw.data();
      ep.bias = bias.data();
      ep.gelu = true;
      ep.residual = res.data();
      ep.ld_residual = sh.n;
      ep.out = y.data();
      ep.ld_out = sh.n;
      double int8_ms = 0;
      auto report = [&](const std::string& kernel, const std::string& isa,
                        double sec, double density, double sparsity) {
        const double ms_ = sec * 1e3;
        const double eff = dense_ops / sec / 1e9;
        const double act = eff * density;
        const double x_int8 = int8_ms > 0 ? int8_ms / ms_ : 0;
        const double pct = int8_peak > 0 ? 100.0 * eff / int8_peak : 0;
        absl::PrintF("%-10s %5d %-12s %-12s %9.3f %9.1f %9.1f %8.2f %7.1f\n",
                     sh.name, m, kernel, isa, ms_, act, eff, x_int8, pct);
        json r = {{"shape", sh.name},
                  {"m", m},
                  {"k", sh.k},
                  {"n", sh.n},
                  {"kernel", kernel},
                  {"isa", isa},
                  {"median_ms", ms_},
                  {"density", density},
                  {"sparsity", sparsity},
                  {"gops_actual", act},
                  {"gops_effective", eff},
                  {"speedup_vs_dense_int8", x_int8}};
        if (int8_peak > 0) r["pct_of_int8_roofline"] = pct;
        results.push_back(r);
      };
      if (wanted("dense_int8")) {
        auto wq = testing_util::RandomInts<int8_t>(
            static_cast<size_t>(sh.n) * sh.k, -127, 127, rng);
        auto g = DenseInt8Gemm::Create(wq.data(), sh.n, sh.k, ActType::kS8);
        if (!g.ok()) {
          absl::FPrintF(stderr, "%s\n", g.status().ToString());
          return 1;
        }
        const double s = MedianSeconds(
            [&] { (void)g->RunInt32(x.data(), m, sh.k, acc.data(), sh.n); },
            reps);
        int8_ms = s * 1e3;
        report("dense_int8", "onednn", s, 1.0, 0.0);
        results.back()["impl"] = g->impl_name();
        if (wanted("dense_int8+epi")) {
          const double se =
              MedianSeconds([&] { (void)g->Run(x.data(), m, sh.k, ep); }, reps);
          report("dense_int8+epi", "onednn", se, 1.0, 0.0);
        }
      }
      if (wanted("dense_fp32")) {
        OneDnnGemm f32(dt::f32, dt::f32, dt::f32, m, sh.k, sh.n);
        const double s = MedianSeconds([&] { f32.Run(); }, reps);
        report("dense_fp32", "onednn", s, 1.0, 0.0);
      }
      if (wanted("dense_int8_own")) {
        auto wq = testing_util::RandomInts<int8_t>(
            static_cast<size_t>(sh.n) * sh.k, -127, 127, rng);
        auto g = DenseInt8Gemm::Create(wq.data(), sh.n, sh.k, ActType::kS8,
                                       DenseBackend::kAvx2);
        if (g.ok()) {
          const double s = MedianSeconds(
              [&] { (void)g->RunInt32(x.data(), m, sh.k, acc.data(), sh.n); },
              reps);
          report("dense_int8_own", "avx2", s, 1.0, 0.0);
        }
      }
      for (const SparseCfg& cfg : sparse_cfgs) {
        if (!wanted(cfg.name) && !wanted(cfg.name + "+epi")) continue;
        auto wq = testing_util::RandomSparse(cfg.pattern, sh.n, sh.k,
                                             cfg.sparsity, rng, false, 1.0);
        auto w = PackedSparseInt8::Pack(cfg.pattern, wq.data(), sh.n, sh.k);
        if (!w.ok()) {
          absl::FPrintF(stderr, "%s\n", w.status().ToString());
          return 1;
        }
        // 4x1: kept blocks count as dense 4x1 blocks (the work the kernel
        // does); N:M: the non-zeros.
        int64_t nnz = 0;
        if (cfg.pattern == SparsePattern::kBlock4x1) {
          for (int rb = 0; rb < sh.n / 4; ++rb) {
            for (int kk = 0; kk < sh.k; ++kk) {
              bool kept = false;
              for (int j = 0; j < 4; ++j) {
                kept |= wq[static_cast<size_t>(4 * rb + j) * sh.k + kk] != 0;
              }
              nnz += kept ? 4 : 0;
            }
          }
        } else {
          for (int8_t v : wq) nnz += v != 0;
        }
        const double density =
            static_cast<double>(nnz) / (static_cast<double>(sh.n) * sh.k);
        for (KernelIsa isa : isas) {
          if (wanted(cfg.name)) {
            const double s = MedianSeconds(
                [&] {
                  (void)SparseGemmInt32(*w, x.data(), m, sh.k, acc.data(), sh.n,
                                        isa);
                },
                reps);
            report(cfg.name, KernelIsaName(isa), s, density, 1.0 - density);
          }
          if (cfg.name != "4x1@80%" || !wanted(cfg.name + "+epi")) continue;
          const double se = MedianSeconds(
              [&] { (void)SparseGemm(*w, x.data(), m, sh.k, ep, isa); }, reps);
          report(cfg.name + "+epi", KernelIsaName(isa), se, density,
                 1.0 - density);
        }
      }
    }
  }
  out["results"] = results;
  const std::string path = absl::GetFlag(FLAGS_json);
  if (!path.empty()) {
    std::ofstream f(path);
    f << out.dump(2) << "\n";
    if (!f) {
      absl::FPrintF(stderr, "cannot write %s\n", path);
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace fastrel

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  absl::ParseCommandLine(argc, argv);
  return fastrel::Main(absl::StrJoin(args, " "));
}
