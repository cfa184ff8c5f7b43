#include "loadtest/schedule.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fastrel::loadtest {

absl::StatusOr<Arrival> ParseArrival(const std::string& text) {
  if (text == "constant") return Arrival::kConstant;
  if (text == "poisson") return Arrival::kPoisson;
  return absl::InvalidArgumentError(absl::StrCat(
      "--arrival must be 'constant' or 'poisson', got '", text, "'"));
}

absl::StatusOr<std::vector<Segment>> ParseProfile(const std::string& text,
                                                  double base_rate_rps) {
  if (!(base_rate_rps > 0) || !std::isfinite(base_rate_rps)) {
    return absl::InvalidArgumentError(
        "--profile needs a positive finite --rate to scale");
  }
  std::vector<Segment> segments;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits('x', 1));
    double factor = 0;
    absl::Duration length;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &factor) ||
        !absl::ParseDuration(parts[1], &length)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--profile item '", item,
          "' is not FACTORxDURATION (e.g. 0.5x10s,2x10s,0.5x10s)"));
    }
    if (!(factor > 0) || !std::isfinite(factor) ||
        !(factor * base_rate_rps < 1e7)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--profile item '", item,
                       "': factor must be > 0 and give a rate < 1e7/s"));
    }
    if (length <= absl::ZeroDuration() || length > absl::Hours(24)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--profile item '", item, "': duration must be in (0, 24h]"));
    }
    segments.push_back({factor * base_rate_rps, length});
  }
  if (segments.empty()) return absl::InvalidArgumentError("--profile is empty");
  return segments;
}

ArrivalSchedule::ArrivalSchedule(std::vector<Segment> segments, Arrival arrival,
                                 uint64_t seed)
    : segments_(std::move(segments)), arrival_(arrival), rng_(seed) {
  for (const Segment& s : segments_) total_ += s.length;
}

double ArrivalSchedule::RateAt(absl::Duration t) const {
  absl::Duration start;
  for (const Segment& s : segments_) {
    if (t >= start && t < start + s.length) return s.rate_rps;
    start += s.length;
  }
  return 0;
}

std::optional<absl::Duration> ArrivalSchedule::Next() {
  while (segment_ < segments_.size()) {
    const Segment& s = segments_[segment_];
    const absl::Duration end = segment_start_ + s.length;
    absl::Duration candidate;
    if (first_) {
      // Constant arrivals start at the segment start; Poisson ones after an
      // exponential gap (so the first arrival is memoryless too).
      candidate = segment_start_;
      if (arrival_ == Arrival::kPoisson) {
        candidate += absl::Seconds(
            std::exponential_distribution<double>(s.rate_rps)(rng_));
      }
    } else {
      const double gap_s =
          arrival_ == Arrival::kPoisson
              ? std::exponential_distribution<double>(s.rate_rps)(rng_)
              : 1.0 / s.rate_rps;
      candidate = now_ + absl::Seconds(gap_s);
    }
    if (candidate < end) {
      first_ = false;
      now_ = candidate;
      return candidate;
    }
    // The gap crosses the segment end: restart at the next segment's rate
    // (exact for Poisson, which is memoryless).
    segment_start_ = end;
    ++segment_;
    first_ = true;
  }
  return std::nullopt;
}

}  // namespace fastrel::loadtest
