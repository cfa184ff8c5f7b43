// Human-readable summary, JSON and CSV output of load-test runs.
#ifndef FASTREL_LOADTEST_REPORT_H_
#define FASTREL_LOADTEST_REPORT_H_

#include <string>
#include <vector>

#include "loadtest/run_result.h"
#include "nlohmann/json.hpp"

namespace fastrel::loadtest {

// Thresholds for the client self-check.
struct SelfCheck {
  // Warn when the p99 send lag exceeds both of these.
  double max_lag_p99_ms = 1.0;
  double max_lag_fraction_of_p50 = 0.1;
  // Warn when the client used more than this many cores.
  double max_client_cores = 0.8;
};

// Client-side warnings (empty when the client kept up with its schedule).
std::vector<std::string> SelfCheckWarnings(const RunResult& r,
                                           const SelfCheck& check = {});

// Whether a run meets an SLO: p99 <= slo_p99_ms, error rate <= max_error_rate
// and at least one OK reply.
bool MeetsSlo(const RunResult& r, double slo_p99_ms, double max_error_rate);

// Multi-line summary of one run, for people.
std::string FormatSummary(const RunResult& r);

// One-line summary of a sweep step.
std::string FormatSweepLine(const RunResult& r, bool meets_slo);

// JSON of one run: p50_ms, p90_ms, p99_ms, p999_ms, max_ms, throughput_rps,
// throughput_docs_per_s, goodput_docs_per_s, sent, ok, errors,
// errors_by_status, variants, server timings, self-check, per-second series.
nlohmann::json RunToJson(const RunResult& r, bool with_series);

// CSV with a header and one row per run (e.g. per rate of a sweep).
std::string RunsToCsv(const std::vector<RunResult>& runs, double slo_p99_ms,
                      double max_error_rate);

// CSV of a run's per-second series (second, offered, ok, errors, docs, p50,
// p99).
std::string SeriesToCsv(const RunResult& r);

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_REPORT_H_
