// Drives one load-test run against a fastrel.v1.Scorer endpoint.
//
// Open loop: a scheduler thread walks an ArrivalSchedule and issues each
// request at its intended time with gRPC's callback API, so sending never
// waits for a reply. Latency is completion time minus the *intended* send
// time: when the server (or the client) falls behind, the queueing delay
// shows up in the percentiles instead of silently lowering the offered rate
// (no coordinated omission). Closed loop keeps N requests in flight.
//
// Every request carries a gRPC deadline (--timeout), and after the last send
// the run waits at most `drain` for replies; requests still outstanding then
// are cancelled and counted as DRAIN_TIMEOUT errors, so a run never lasts
// longer than warm-up + duration + drain (+ a short cancellation grace).
#ifndef FASTREL_LOADTEST_RUNNER_H_
#define FASTREL_LOADTEST_RUNNER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fastrel/v1/scorer.grpc.pb.h"
#include "loadtest/request_source.h"
#include "loadtest/run_result.h"
#include "loadtest/schedule.h"

namespace fastrel::loadtest {

struct RunOptions {
  // Open loop when `segments` is non-empty; closed loop otherwise.
  std::vector<Segment> segments;  // measured window (warm-up is added in front)
  Arrival arrival = Arrival::kPoisson;
  int concurrency = 0;      // closed loop: requests kept in flight
  absl::Duration duration;  // closed loop: measured window length
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(1);  // gRPC deadline per request
  absl::Duration drain =
      absl::Seconds(1);    // max wait for replies after the last send
  double deadline_ms = 0;  // goodput deadline from intended send; 0 = none
  int64_t max_inflight =
      10000;  // beyond this, requests fail CLIENT_MAX_INFLIGHT
  uint64_t seed = 1;
  uint64_t first_request = 0;  // index into the pool for the first request
  // When set and it becomes true (e.g. from a SIGINT handler), sending stops,
  // replies are drained for at most 0.5 s and the run returns what it
  // measured so far (RunResult::interrupted). Not owned; may be null.
  const std::atomic<bool>* stop = nullptr;
};

// Thread-safety: Run() may be called by one thread at a time.
class Runner {
 public:
  // `channels` must be non-empty; `pool` must outlive every Run().
  Runner(std::vector<std::shared_ptr<grpc::Channel>> channels,
         const RequestPool* pool);

  // Runs once and returns what was measured. Never blocks longer than
  // warm-up + window + drain + ~1 s, whatever the server does.
  RunResult Run(const RunOptions& options);

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<fastrel::v1::Scorer::Stub>> stubs_;
  const RequestPool* pool_;
  uint64_t next_request_ = 0;
};

// Canonical upper-case name of a gRPC status code ("UNAVAILABLE").
std::string StatusCodeName(int code);

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_RUNNER_H_
