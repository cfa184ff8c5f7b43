#include "loadtest/run_result.h"

namespace fastrel::loadtest {

Derived Derive(const RunResult& r) {
  Derived d;
  auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
  d.min_ms = ms(r.latency_us.min());
  d.p50_ms = ms(r.latency_us.ValueAtPercentile(50));
  d.p90_ms = ms(r.latency_us.ValueAtPercentile(90));
  d.p99_ms = ms(r.latency_us.ValueAtPercentile(99));
  d.p999_ms = ms(r.latency_us.ValueAtPercentile(99.9));
  d.max_ms = ms(r.latency_us.max());
  d.mean_ms = r.latency_us.mean() / 1000.0;
  if (r.elapsed_s > 0) {
    d.throughput_rps = static_cast<double>(r.ok) / r.elapsed_s;
    d.throughput_docs_per_s = static_cast<double>(r.docs_ok) / r.elapsed_s;
    d.goodput_docs_per_s = static_cast<double>(r.good_docs) / r.elapsed_s;
  }
  if (r.window_s > 0) d.sent_rps = static_cast<double>(r.sent) / r.window_s;
  if (r.sent > 0)
    d.error_rate = static_cast<double>(r.errors) / static_cast<double>(r.sent);
  d.lag_p99_ms = ms(r.lag_us.ValueAtPercentile(99));
  d.lag_max_ms = ms(r.lag_us.max());
  if (r.wall_s > 0) d.client_cpu_cores = r.client_cpu_s / r.wall_s;
  return d;
}

}  // namespace fastrel::loadtest
