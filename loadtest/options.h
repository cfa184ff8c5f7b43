// Command-line options of fastrel-loadtest and their validation.
//
// main.cc copies the absl flags into `Flags`; Validate() checks everything up
// front (before any connection is made) and returns a `Plan` or a usage error
// that names the bad flag.
#ifndef FASTREL_LOADTEST_OPTIONS_H_
#define FASTREL_LOADTEST_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loadtest/request_source.h"
#include "loadtest/schedule.h"

namespace fastrel::loadtest {

// Raw flag values (see main.cc for their help texts). 0 / "" = not given.
struct Flags {
  std::string target = "127.0.0.1:50051";
  double rate = 0;
  int concurrency = 0;
  double duration = 0;  // seconds; 0 = default (10 s)
  double warmup = 1;    // seconds
  std::string arrival = "poisson";
  uint64_t seed = 1;
  std::string sweep;  // START:STOP:STEP
  double slo_p99_ms = 0;
  double slo_max_error_rate = 0.01;
  int sweep_stop_after = 2;
  std::string profile;
  std::string docs = "10";
  double budget_ms = 50;
  double deadline_ms = -1;  // goodput deadline; < 0 = budget_ms
  double timeout_ms = 0;    // 0 = budget_ms + 1000
  double drain_s = -1;      // < 0 = timeout + 0.5 s
  std::string variant;
  std::string model;
  std::string data = "../shared/data/dev.tsv";
  std::string synthetic;  // QUERY_TOKENS:DOC_TOKENS
  int channels = 1;
  int64_t max_inflight = 10000;
  int pool = 1024;
  bool token_counts = false;
};

// A start:stop:step list of rates (inclusive of stop when it falls on a step).
struct Sweep {
  double start = 0, stop = 0, step = 0;
  std::vector<double> Rates() const;
};

// Validated plan of what to run.
struct Plan {
  enum class Mode { kOpenLoop, kClosedLoop, kSweep };
  Mode mode = Mode::kOpenLoop;
  std::string target;
  std::vector<Segment> segments;  // open loop (rate or profile)
  Arrival arrival = Arrival::kPoisson;
  Sweep sweep;
  int concurrency = 0;
  absl::Duration duration;  // per run (sweep step, closed loop, fixed rate)
  absl::Duration warmup;
  absl::Duration timeout;
  absl::Duration drain;
  double deadline_ms = 0;
  double slo_p99_ms = 0;
  double slo_max_error_rate = 0;
  int sweep_stop_after = 0;
  DocsRange docs;
  int synthetic_query_tokens = 0;  // > 0: synthetic text instead of --data
  int synthetic_doc_tokens = 0;
  bool has_profile = false;
};

// Parses "START:STOP:STEP" (all > 0, STOP >= START, at most 1000 steps).
absl::StatusOr<Sweep> ParseSweep(const std::string& text);

// Checks "HOST:PORT" (or "[IPv6]:PORT", or "unix:PATH").
absl::Status ValidateTarget(const std::string& target);

// Validates every flag and their combinations. Errors are InvalidArgument
// with a message naming the flag.
absl::StatusOr<Plan> Validate(const Flags& flags);

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_OPTIONS_H_
