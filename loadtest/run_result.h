// What one load-test run measured, and the figures derived from it.
#ifndef FASTREL_LOADTEST_RUN_RESULT_H_
#define FASTREL_LOADTEST_RUN_RESULT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadtest/histogram.h"

namespace fastrel::loadtest {

// One second of a run (index = whole seconds since the run start, warm-up
// included). Completions are filed by completion time, `offered` by intended
// send time.
struct SecondStats {
  uint64_t offered = 0;    // requests scheduled in this second
  uint64_t ok = 0;         // OK completions
  uint64_t errors = 0;     // failed completions (any status)
  uint64_t docs_ok = 0;    // documents of OK completions
  uint64_t good_docs = 0;  // documents answered OK within the deadline
  Histogram latency_us;    // latency of OK completions
};

// Raw counts of one run; only requests whose intended send time falls in the
// measured window (after the warm-up) are counted, except in `series`.
struct RunResult {
  std::string mode;  // "open" or "closed"
  double offered_rps =
      0;                // mean target rate over the measured window (open loop)
  int concurrency = 0;  // closed loop only
  double warmup_s = 0;
  double window_s = 0;  // scheduled length of the measured window
  double elapsed_s =
      0;  // window start to the later of window end / last completion
  double deadline_ms = 0;  // goodput deadline (0 = none)

  uint64_t sent = 0;  // requests issued (= ok + errors)
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_status;  // status name -> count
  std::map<std::string, std::string>
      error_examples;  // status name -> first message
  uint64_t docs_sent = 0;
  uint64_t docs_ok = 0;
  uint64_t good_requests = 0;  // OK within deadline
  uint64_t good_docs = 0;

  Histogram latency_us;        // OK requests, from intended send time
  Histogram error_latency_us;  // failed requests, from intended send time
  Histogram lag_us;            // actual send time - intended send time
  Histogram server_total_us, server_queue_us, server_compute_us,
      server_tokenize_us;
  std::map<std::string, uint64_t> variants;  // variant name -> OK responses
  std::string model, model_version;          // from the last OK response
  uint64_t token_count_sum = 0, token_count_docs = 0;

  double client_cpu_s = 0;     // client process CPU time during the run
  double wall_s = 0;           // whole run incl. warm-up and drain
  double send_overrun_ms = 0;  // how late the last scheduled send went out
  bool hit_max_inflight = false;
  bool interrupted = false;  // stopped early (SIGINT); window_s is what ran
  uint64_t unsent =
      0;  // scheduled in the window but never sent (client too slow)

  std::vector<SecondStats> series;
};

// Figures derived from a RunResult (milliseconds and per-second rates).
struct Derived {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0,
         mean_ms = 0, min_ms = 0;
  double throughput_rps = 0;         // OK requests / elapsed
  double throughput_docs_per_s = 0;  // OK documents / elapsed
  double goodput_docs_per_s = 0;     // documents OK within deadline / elapsed
  double error_rate = 0;             // errors / sent
  double lag_p99_ms = 0, lag_max_ms = 0;
  double client_cpu_cores = 0;
  double sent_rps = 0;  // requests actually sent / window
};
Derived Derive(const RunResult& r);

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_RUN_RESULT_H_
