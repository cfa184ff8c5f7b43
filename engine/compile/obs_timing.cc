// Manual timing of the compressor on BERT-base FFN shapes (one thread; the
// library is single-threaded). Not a test: prints wall times.
//   compile_obs_timing [samples=2048]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/compile/dense_linalg.h"
#include "engine/compile/hessian.h"
#include "engine/compile/magnitude.h"
#include "engine/compile/obs.h"
#include "engine/compile/reconstruction.h"
#include "engine/compile/testutil.h"

namespace fastrel::compile {
namespace {

// CPU seconds of this process (the machine is shared, so wall time is noisy).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

void TimeGemm() {
  const int64_t n = 1024;
  const std::vector<float> af = testing::RandomNormal(n * n, 5);
  const std::vector<double> a(af.begin(), af.end());
  std::vector<double> c(static_cast<size_t>(n * n), 0.0);
  const double c0 = CpuSeconds();
  Gemm(false, n, n, n, 1.0, a.data(), n, a.data(), n, c.data(), n);
  const double s = CpuSeconds() - c0;
  std::printf("fp64 GEMM %lld^3: %.2f cpu s, %.1f GFLOP/s\n",
              static_cast<long long>(n), s, 2.0 * n * n * n / s * 1e-9);
}

int Run(int64_t samples) {
  TimeGemm();
  struct Shape {
    int64_t rows, cols;
  };
  for (Shape shape : {Shape{3072, 768}, Shape{768, 3072}}) {
    const int64_t n = shape.rows, k = shape.cols;
    // Correlated inputs: x = z + sum of 16 shared directions.
    std::vector<float> x = testing::RandomNormal(samples * k, 1);
    const std::vector<float> dirs = testing::RandomNormal(16 * k, 2);
    const std::vector<float> coef = testing::RandomNormal(samples * 16, 3);
    for (int64_t s = 0; s < samples; ++s) {
      for (int64_t t = 0; t < 16; ++t) {
        for (int64_t j = 0; j < k; ++j) {
          x[s * k + j] += coef[s * 16 + t] * dirs[t * k + j];
        }
      }
    }
    const std::vector<float> w = testing::RandomNormal(n * k, 4);

    absl::Time t0 = absl::Now();
    double c0 = CpuSeconds();
    HessianAccumulator acc(k);
    if (!acc.Add(x, samples).ok()) return 1;
    const std::vector<double> h = *acc.Hessian();
    std::printf("N=%lld K=%lld: Hessian of %lld rows: %.2f s (%.2f cpu s)\n",
                static_cast<long long>(n), static_cast<long long>(k),
                static_cast<long long>(samples),
                absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0);
    for (Pattern p : {Pattern::kUnstructured, Pattern::k2of4}) {
      std::optional<double> sparsity;
      if (p == Pattern::kUnstructured) sparsity = 0.5;
      t0 = absl::Now();
      c0 = CpuSeconds();
      absl::StatusOr<ObsResult> r = PruneObs(
          w, n, k, h, p, sparsity, {.quantization = Quantization::kInt8});
      const double obs_s = absl::ToDoubleSeconds(absl::Now() - t0);
      const double obs_cpu = CpuSeconds() - c0;
      if (!r.ok()) {
        std::printf("PruneObs failed: %s\n", r.status().ToString().c_str());
        return 1;
      }
      t0 = absl::Now();
      const double err =
          *RelativeReconstructionError(w, r->layer.weight, n, k, h);
      const double err_s = absl::ToDoubleSeconds(absl::Now() - t0);
      const double mag_err = *RelativeReconstructionError(
          w, PruneMagnitude(w, n, k, p, sparsity, Quantization::kInt8)->weight,
          n, k, h);
      std::printf(
          "  %s +int8: PruneObs %.2f s (%.2f cpu s; error %.4f vs magnitude "
          "%.4f), "
          "reconstruction error %.2f s\n",
          std::string(PatternName(p)).c_str(), obs_s, obs_cpu, err, mag_err,
          err_s);
    }
  }
  return 0;
}

}  // namespace
}  // namespace fastrel::compile

int main(int argc, char** argv) {
  const int64_t samples = argc > 1 ? std::atoll(argv[1]) : 2048;
  return fastrel::compile::Run(samples);
}
