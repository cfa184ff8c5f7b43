// SVG charts of load-test results, written without any plotting dependency.
#ifndef FASTREL_LOADTEST_SVG_PLOT_H_
#define FASTREL_LOADTEST_SVG_PLOT_H_

#include <string>
#include <vector>

#include "loadtest/run_result.h"

namespace fastrel::loadtest {

// Sweep chart: left, latency p50/p90/p99 (log scale) against offered load,
// with the SLO as a dashed line; right, offered, answered and good documents
// per second against offered load. `best_rps` (> 0) draws a marker at the
// highest rate meeting the SLO. Runs must be open loop, in rate order.
std::string SweepSvg(const std::vector<RunResult>& runs, double slo_p99_ms,
                     double best_rps, const std::string& title);

// Time-series chart of one run (per second, warm-up shaded): offered / OK /
// failed requests per second; latency p50/p99 (log scale); goodput docs/s.
std::string TimeSeriesSvg(const RunResult& run, const std::string& title);

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_SVG_PLOT_H_
