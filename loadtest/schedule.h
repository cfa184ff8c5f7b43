// Open-loop arrival schedules: when each request is meant to be sent.
//
// A schedule is a list of segments, each with a constant target rate; inside a
// segment gaps are either constant (1/rate) or exponential (Poisson arrivals).
// The times are intended send times relative to the start of the run; the
// runner measures latency from them, never from the actual send time, so a
// slow server cannot slow the arrivals down (no coordinated omission).
#ifndef FASTREL_LOADTEST_SCHEDULE_H_
#define FASTREL_LOADTEST_SCHEDULE_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fastrel::loadtest {

enum class Arrival { kConstant, kPoisson };

// Parses "constant" or "poisson".
absl::StatusOr<Arrival> ParseArrival(const std::string& text);

// One piece of a rate profile.
struct Segment {
  double rate_rps = 0;    // target arrivals per second (> 0)
  absl::Duration length;  // how long this rate lasts (> 0)
};

// Parses a step profile relative to `base_rate_rps`:
// "0.5x10s,2x10s,0.5x10s" = half the rate for 10 s, twice for 10 s, half for
// 10 s. Durations accept absl suffixes (ms, s, m). Errors name the bad item.
absl::StatusOr<std::vector<Segment>> ParseProfile(const std::string& text,
                                                  double base_rate_rps);

// Generates intended send times for a segment list.
// Thread-safety: none (one scheduler thread owns it).
class ArrivalSchedule {
 public:
  // `segments` must be non-empty with positive rates and lengths (validated by
  // the caller; see ParseProfile). `seed` makes Poisson gaps reproducible.
  ArrivalSchedule(std::vector<Segment> segments, Arrival arrival,
                  uint64_t seed);

  // Returns the next intended send time (offset from the run start), or
  // nullopt once the schedule's total length is reached.
  std::optional<absl::Duration> Next();

  // Total length (sum of segment lengths).
  absl::Duration total() const { return total_; }
  // Target rate at offset `t` (0 outside the schedule).
  double RateAt(absl::Duration t) const;

 private:
  std::vector<Segment> segments_;
  Arrival arrival_;
  std::mt19937_64 rng_;
  absl::Duration total_;
  size_t segment_ = 0;
  absl::Duration segment_start_;  // start of segments_[segment_]
  absl::Duration now_;            // last emitted time
  bool first_ = true;
};

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_SCHEDULE_H_
