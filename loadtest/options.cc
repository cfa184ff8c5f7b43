#include "loadtest/options.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fastrel::loadtest {

namespace {
constexpr double kMaxRate = 1e7;
constexpr double kMaxSeconds = 24 * 3600;

bool Finite(double v) { return std::isfinite(v); }

absl::Status Bad(const std::string& message) {
  return absl::InvalidArgumentError(message);
}
}  // namespace

std::vector<double> Sweep::Rates() const {
  std::vector<double> rates;
  for (int i = 0;; ++i) {
    const double r = start + i * step;
    if (r > stop + step * 1e-9) break;
    rates.push_back(r);
  }
  return rates;
}

absl::StatusOr<Sweep> ParseSweep(const std::string& text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  Sweep s;
  if (parts.size() != 3 || !absl::SimpleAtod(parts[0], &s.start) ||
      !absl::SimpleAtod(parts[1], &s.stop) ||
      !absl::SimpleAtod(parts[2], &s.step)) {
    return Bad(absl::StrCat(
        "--sweep must be START:STOP:STEP in requests/s (e.g. 20:200:20), got '",
        text, "'"));
  }
  if (!Finite(s.start) || !Finite(s.stop) || !Finite(s.step) ||
      !(s.start > 0) || !(s.step > 0) || !(s.stop >= s.start) ||
      s.stop > kMaxRate) {
    return Bad(absl::StrCat("--sweep '", text,
                            "': need 0 < START <= STOP <= 1e7 and STEP > 0"));
  }
  if ((s.stop - s.start) / s.step > 1000) {
    return Bad(absl::StrCat("--sweep '", text, "' has more than 1000 steps"));
  }
  return s;
}

absl::Status ValidateTarget(const std::string& target) {
  if (absl::StartsWith(target, "unix:")) {
    return target.size() > 5 ? absl::OkStatus()
                             : Bad("--target unix: needs a path");
  }
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Bad(
        absl::StrCat("--target must be HOST:PORT (e.g. 127.0.0.1:50051), got '",
                     target, "'"));
  }
  const std::string host = target.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return Bad(absl::StrCat("--target '", target,
                            "': port must be a number in 1..65535"));
  }
  if (host.find(':') != std::string::npos &&
      !(host.front() == '[' && host.back() == ']')) {
    return Bad(absl::StrCat("--target '", target,
                            "': write IPv6 hosts as [ADDR]:PORT"));
  }
  if (host.find_first_of(" \t/") != std::string::npos) {
    return Bad(absl::StrCat("--target '", target, "': bad host name"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Plan> Validate(const Flags& f) {
  Plan plan;
  if (absl::Status s = ValidateTarget(f.target); !s.ok()) return s;
  plan.target = f.target;

  const bool has_rate = f.rate != 0;
  const bool has_conc = f.concurrency != 0;
  const bool has_sweep = !f.sweep.empty();
  plan.has_profile = !f.profile.empty();
  if (has_rate + has_conc + has_sweep != 1) {
    return Bad(
        "give exactly one of --rate R (open loop), --concurrency N (closed "
        "loop) or "
        "--sweep START:STOP:STEP");
  }
  if (has_rate && (!Finite(f.rate) || !(f.rate > 0) || f.rate > kMaxRate)) {
    return Bad(absl::StrCat(
        "--rate must be a finite number in (0, 1e7] requests/s, got ", f.rate));
  }
  if (has_conc && (f.concurrency < 1 || f.concurrency > 100000)) {
    return Bad(absl::StrCat("--concurrency must be in 1..100000, got ",
                            f.concurrency));
  }
  // --duration 0 (the flag default) means 10 s; an explicit negative or
  // non-finite value is an error.
  if (!Finite(f.duration) || f.duration < 0 || f.duration > kMaxSeconds) {
    return Bad(absl::StrCat("--duration must be in (0, 86400] seconds, got ",
                            f.duration));
  }
  plan.duration = absl::Seconds(f.duration > 0 ? f.duration : 10);
  if (!Finite(f.warmup) || f.warmup < 0 || f.warmup > kMaxSeconds) {
    return Bad(
        absl::StrCat("--warmup must be in [0, 86400] seconds, got ", f.warmup));
  }
  plan.warmup = absl::Seconds(f.warmup);
  absl::StatusOr<Arrival> arrival = ParseArrival(f.arrival);
  if (!arrival.ok()) return arrival.status();
  plan.arrival = *arrival;

  if (!Finite(f.budget_ms) || f.budget_ms < 0 || f.budget_ms > 3.6e6) {
    return Bad(
        absl::StrCat("--budget_ms must be in [0, 3600000], got ", f.budget_ms));
  }
  plan.deadline_ms = f.deadline_ms < 0 ? f.budget_ms : f.deadline_ms;
  if (!Finite(f.deadline_ms)) return Bad("--deadline_ms must be finite");
  if (!Finite(f.timeout_ms) || f.timeout_ms < 0 || f.timeout_ms > 3.6e6) {
    return Bad(absl::StrCat("--timeout_ms must be in [0, 3600000], got ",
                            f.timeout_ms));
  }
  plan.timeout =
      absl::Milliseconds(f.timeout_ms > 0 ? f.timeout_ms : f.budget_ms + 1000);
  if (!Finite(f.drain_s) || f.drain_s > 3600) {
    return Bad(absl::StrCat("--drain_s must be <= 3600, got ", f.drain_s));
  }
  plan.drain = f.drain_s < 0 ? plan.timeout + absl::Milliseconds(500)
                             : absl::Seconds(f.drain_s);

  absl::StatusOr<DocsRange> docs = ParseDocs(f.docs);
  if (!docs.ok()) return docs.status();
  plan.docs = *docs;
  if (f.channels < 1 || f.channels > 256) {
    return Bad(absl::StrCat("--channels must be in 1..256, got ", f.channels));
  }
  if (f.max_inflight < 1) return Bad("--max_inflight must be >= 1");
  if (f.pool < 1 || f.pool > 1000000)
    return Bad("--pool must be in 1..1000000");

  if (!f.synthetic.empty()) {
    std::vector<absl::string_view> parts = absl::StrSplit(f.synthetic, ':');
    if (parts.size() != 2 ||
        !absl::SimpleAtoi(parts[0], &plan.synthetic_query_tokens) ||
        !absl::SimpleAtoi(parts[1], &plan.synthetic_doc_tokens) ||
        plan.synthetic_query_tokens < 1 || plan.synthetic_doc_tokens < 1 ||
        plan.synthetic_query_tokens > 10000 ||
        plan.synthetic_doc_tokens > 10000) {
      return Bad(absl::StrCat(
          "--synthetic must be QUERY_TOKENS:DOC_TOKENS (each 1..10000), got '",
          f.synthetic, "'"));
    }
  }

  plan.slo_p99_ms = f.slo_p99_ms > 0 ? f.slo_p99_ms : f.budget_ms;
  if (!Finite(f.slo_p99_ms) || f.slo_p99_ms < 0)
    return Bad("--slo_p99_ms must be >= 0");
  if (!Finite(f.slo_max_error_rate) || f.slo_max_error_rate < 0 ||
      f.slo_max_error_rate > 1) {
    return Bad("--slo_max_error_rate must be in [0, 1]");
  }
  plan.slo_max_error_rate = f.slo_max_error_rate;
  plan.sweep_stop_after = f.sweep_stop_after;

  if (has_sweep) {
    absl::StatusOr<Sweep> sweep = ParseSweep(f.sweep);
    if (!sweep.ok()) return sweep.status();
    if (!(plan.slo_p99_ms > 0))
      return Bad("--sweep needs --slo_p99_ms (or --budget_ms > 0)");
    if (plan.has_profile)
      return Bad("--profile cannot be combined with --sweep");
    plan.sweep = *sweep;
    plan.mode = Plan::Mode::kSweep;
  } else if (has_conc) {
    if (plan.has_profile) return Bad("--profile needs --rate (open loop)");
    plan.concurrency = f.concurrency;
    plan.mode = Plan::Mode::kClosedLoop;
  } else {
    plan.mode = Plan::Mode::kOpenLoop;
    if (plan.has_profile) {
      if (f.duration > 0)
        return Bad(
            "--profile sets the run length; do not also give --duration");
      absl::StatusOr<std::vector<Segment>> segments =
          ParseProfile(f.profile, f.rate);
      if (!segments.ok()) return segments.status();
      plan.segments = *std::move(segments);
    } else {
      plan.segments = {{f.rate, plan.duration}};
    }
    double expected = 0;
    for (const Segment& s : plan.segments) {
      expected += s.rate_rps * absl::ToDoubleSeconds(s.length);
    }
    if (expected < 1) {
      return Bad(absl::StrCat(
          "--rate ", f.rate, " over the run sends less than one request (",
          expected, " expected); raise --rate or --duration"));
    }
  }
  return plan;
}

}  // namespace fastrel::loadtest
