#include "loadtest/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace fastrel::loadtest {

namespace {

using Clock = std::chrono::steady_clock;

// How far behind its schedule an open-loop client may fall before it stops.
constexpr auto kLateLimit = std::chrono::seconds(1);
// How often a sleeping scheduler checks RunOptions::stop.
constexpr auto kStopPollInterval = std::chrono::milliseconds(50);
// Longest drain after an interruption.
constexpr std::chrono::nanoseconds kInterruptedDrain =
    std::chrono::milliseconds(500);

int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6;
  };
  return tv(usage.ru_utime) + tv(usage.ru_stime);
}

// One request in flight.
struct Call {
  grpc::ClientContext context;
  fastrel::v1::ScoreResponse response;
  Clock::time_point intended;
  int docs = 0;
  bool measured = false;
};

// Shared between the scheduler thread and gRPC callback threads. Owned by a
// shared_ptr that every callback holds, so a late callback after Run()
// returned is harmless.
// Thread-safety: all methods are thread-safe.
class Collector {
 public:
  Collector(Clock::time_point start, Clock::time_point window_start,
            double deadline_ms)
      : start_(start), window_start_(window_start), deadline_ms_(deadline_ms) {}

  // Registers a call about to be sent. Returns false (and counts the request
  // as failed) when `max_inflight` requests are already outstanding.
  bool OnSend(const std::shared_ptr<Call>& call, Clock::time_point now,
              int64_t max_inflight) {
    absl::MutexLock lock(&mu_);
    SecondStats& second = SecondAt(call->intended);
    ++second.offered;
    if (call->measured) {
      ++result_.sent;
      result_.docs_sent += static_cast<uint64_t>(call->docs);
      result_.lag_us.Record(Micros(now - call->intended));
    }
    if (static_cast<int64_t>(inflight_.size()) >= max_inflight) {
      result_.hit_max_inflight = true;
      RecordErrorLocked(*call, now, "CLIENT_MAX_INFLIGHT",
                        "more than --max_inflight requests outstanding");
      return false;
    }
    inflight_.emplace(call.get(), call);
    return true;
  }

  // Records the completion of `raw` (a call registered by OnSend).
  void OnDone(Call* raw, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    std::shared_ptr<Call> call;  // released after the lock, outside it
    absl::MutexLock lock(&mu_);
    auto it = inflight_.find(raw);
    if (it == inflight_.end()) {
      abandoned_.erase(raw);  // already counted as DRAIN_TIMEOUT
      return;
    }
    call = std::move(it->second);
    inflight_.erase(it);
    if (!status.ok()) {
      RecordErrorLocked(*call, now, StatusCodeName(status.error_code()),
                        status.error_message());
      return;
    }
    const int64_t latency = Micros(now - call->intended);
    SecondStats& second = SecondAt(now);
    const bool good = deadline_ms_ <= 0 ||
                      static_cast<double>(latency) <= deadline_ms_ * 1000.0;
    ++second.ok;
    second.docs_ok += static_cast<uint64_t>(call->docs);
    if (good) second.good_docs += static_cast<uint64_t>(call->docs);
    second.latency_us.Record(latency);
    if (!call->measured) return;
    last_measured_completion_ = std::max(last_measured_completion_, now);
    ++result_.ok;
    result_.docs_ok += static_cast<uint64_t>(call->docs);
    if (good) {
      ++result_.good_requests;
      result_.good_docs += static_cast<uint64_t>(call->docs);
    }
    result_.latency_us.Record(latency);
    const fastrel::v1::ScoreResponse& r = call->response;
    result_.server_total_us.Record(r.timings().total_us());
    result_.server_queue_us.Record(r.timings().queue_us());
    result_.server_compute_us.Record(r.timings().compute_us());
    result_.server_tokenize_us.Record(r.timings().tokenize_us());
    ++result_.variants[r.variant().empty() ? "(none)" : r.variant()];
    result_.model = r.model();
    result_.model_version = r.model_version();
    for (int32_t n : r.token_counts())
      result_.token_count_sum += static_cast<uint64_t>(n);
    result_.token_count_docs += static_cast<uint64_t>(r.token_counts_size());
  }

  int64_t inflight() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(inflight_.size());
  }

  // Waits until fewer than `limit` calls are in flight or `deadline` passes.
  bool AwaitInflightBelow(int64_t limit, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto below = [this, limit]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return static_cast<int64_t>(inflight_.size()) < limit;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&below), deadline);
  }

  // Cancels every outstanding call and counts it as DRAIN_TIMEOUT.
  void AbandonAll() {
    std::vector<std::shared_ptr<Call>> calls;
    {
      absl::MutexLock lock(&mu_);
      const Clock::time_point now = Clock::now();
      for (auto& [raw, call] : inflight_) {
        RecordErrorLocked(
            *call, now, "DRAIN_TIMEOUT",
            "no reply before the end of the drain period (request cancelled)");
        calls.push_back(call);
        abandoned_.emplace(raw, call);  // kept alive until gRPC calls back
      }
      inflight_.clear();
    }
    for (auto& call : calls) call->context.TryCancel();
  }

  // Waits (bounded) for gRPC to call back the cancelled calls.
  void AwaitAbandoned(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto empty = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return abandoned_.empty();
    };
    mu_.AwaitWithDeadline(absl::Condition(&empty), deadline);
  }

  RunResult Take(Clock::time_point window_end) {
    absl::MutexLock lock(&mu_);
    const Clock::time_point end =
        std::max(window_end, last_measured_completion_);
    result_.elapsed_s =
        std::chrono::duration<double>(end - window_start_).count();
    return std::move(result_);
  }

 private:
  SecondStats& SecondAt(Clock::time_point t)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    constexpr size_t kMaxSeconds = 7 * 24 * 3600;
    const auto offset = std::max(Clock::duration::zero(), t - start_);
    const size_t index = std::min<size_t>(
        static_cast<size_t>(
            std::chrono::duration_cast<std::chrono::seconds>(offset).count()),
        kMaxSeconds);
    if (index >= result_.series.size()) result_.series.resize(index + 1);
    return result_.series[index];
  }

  void RecordErrorLocked(const Call& call, Clock::time_point now,
                         const std::string& name, const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++SecondAt(now).errors;
    if (!call.measured) return;
    ++result_.errors;
    ++result_.errors_by_status[name];
    result_.error_examples.try_emplace(name, message);
    result_.error_latency_us.Record(Micros(now - call.intended));
  }

  const Clock::time_point start_;
  const Clock::time_point window_start_;
  const double deadline_ms_;
  mutable absl::Mutex mu_;
  RunResult result_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> inflight_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> abandoned_
      ABSL_GUARDED_BY(mu_);
  Clock::time_point last_measured_completion_ ABSL_GUARDED_BY(mu_);
};

bool Stopped(const std::atomic<bool>* stop) {
  return stop != nullptr && stop->load(std::memory_order_relaxed);
}

// Sleeps until `t` in slices so that `stop` is noticed quickly. Returns false
// when stopped.
bool SleepUntil(Clock::time_point t, const std::atomic<bool>* stop) {
  for (;;) {
    if (Stopped(stop)) return false;
    const Clock::time_point now = Clock::now();
    if (now >= t) return true;
    std::this_thread::sleep_until(std::min(t, now + kStopPollInterval));
  }
}

absl::Time ToAbslTime(Clock::time_point t) {
  return absl::Now() + absl::FromChrono(t - Clock::now());
}

}  // namespace

std::string StatusCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 &&
      code < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return kNames[code];
  }
  return "CODE_" + std::to_string(code);
}

Runner::Runner(std::vector<std::shared_ptr<grpc::Channel>> channels,
               const RequestPool* pool)
    : channels_(std::move(channels)), pool_(pool) {
  for (const auto& channel : channels_)
    stubs_.push_back(fastrel::v1::Scorer::NewStub(channel));
}

RunResult Runner::Run(const RunOptions& options) {
  const bool open_loop = !options.segments.empty();
  const double cpu_before = CpuSeconds();
  // A short lead so the first intended times are not already in the past.
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(20);
  const Clock::time_point window_start =
      start + absl::ToChronoNanoseconds(options.warmup);

  std::vector<Segment> segments;
  absl::Duration window;
  double offered_requests = 0;
  if (open_loop) {
    if (options.warmup > absl::ZeroDuration()) {
      segments.push_back({options.segments.front().rate_rps, options.warmup});
    }
    for (const Segment& s : options.segments) {
      segments.push_back(s);
      window += s.length;
      offered_requests += s.rate_rps * absl::ToDoubleSeconds(s.length);
    }
  } else {
    window = options.duration;
  }
  const Clock::time_point window_end =
      window_start + absl::ToChronoNanoseconds(window);
  auto collector =
      std::make_shared<Collector>(start, window_start, options.deadline_ms);

  auto issue = [&](Clock::time_point intended) {
    const uint64_t seq = next_request_++;
    auto call = std::make_shared<Call>();
    const fastrel::v1::ScoreRequest& request =
        pool_->Get(options.first_request + seq);
    call->intended = intended;
    call->docs = request.documents_size();
    call->measured = intended >= window_start && intended < window_end;
    const Clock::time_point now = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoNanoseconds(options.timeout));
    if (!collector->OnSend(call, now, options.max_inflight)) return;
    Call* raw = call.get();
    stubs_[seq % stubs_.size()]->async()->Score(
        &raw->context, &request, &raw->response,
        [collector, raw](grpc::Status status) {
          collector->OnDone(raw, status);
        });
  };

  Clock::time_point last_intended = start;
  uint64_t unsent = 0;
  if (open_loop) {
    ArrivalSchedule schedule(std::move(segments), options.arrival,
                             options.seed);
    // A client that cannot keep up must not run far past its duration: once
    // it is kLateLimit behind the end of the schedule it stops sending and
    // reports the rest of the schedule as never sent.
    const Clock::time_point give_up =
        start + absl::ToChronoNanoseconds(schedule.total()) + kLateLimit;
    while (std::optional<absl::Duration> next = schedule.Next()) {
      const Clock::time_point intended =
          start + absl::ToChronoNanoseconds(*next);
      if (Clock::now() > give_up) {
        unsent += intended >= window_start && intended < window_end ? 1 : 0;
        continue;
      }
      if (!SleepUntil(intended, options.stop)) break;
      issue(intended);
      last_intended = intended;
    }
  } else {
    const int64_t limit = std::max(1, options.concurrency);
    while (!Stopped(options.stop)) {
      const Clock::time_point slice_end =
          std::min(window_end, Clock::now() + kStopPollInterval);
      if (!collector->AwaitInflightBelow(limit, ToAbslTime(slice_end))) {
        if (Clock::now() >= window_end) break;
        continue;
      }
      const Clock::time_point now = Clock::now();
      if (now >= window_end) break;
      issue(now);
      last_intended = now;
    }
  }
  const Clock::time_point sends_done = Clock::now();
  const bool interrupted = Stopped(options.stop);
  // An interrupted run's window ends where the sending stopped.
  const Clock::time_point effective_window_end =
      interrupted ? std::clamp(sends_done, window_start, window_end)
                  : window_end;

  // Drain: wait for outstanding replies, bounded (briefly when interrupted).
  const Clock::time_point drain_end =
      interrupted
          ? sends_done + std::min(absl::ToChronoNanoseconds(options.drain),
                                  kInterruptedDrain)
          : std::max(sends_done, window_end) +
                absl::ToChronoNanoseconds(options.drain);
  collector->AwaitInflightBelow(1, ToAbslTime(drain_end));
  if (collector->inflight() > 0) {
    collector->AbandonAll();
    collector->AwaitAbandoned(absl::Now() + absl::Milliseconds(500));
  }

  RunResult result = collector->Take(effective_window_end);
  result.interrupted = interrupted;
  result.mode = open_loop ? "open" : "closed";
  result.concurrency = open_loop ? 0 : options.concurrency;
  result.warmup_s = absl::ToDoubleSeconds(options.warmup);
  result.window_s = absl::ToDoubleSeconds(window);
  result.offered_rps =
      open_loop && result.window_s > 0 ? offered_requests / result.window_s : 0;
  if (interrupted) {
    result.window_s =
        std::chrono::duration<double>(effective_window_end - window_start)
            .count();
  }
  result.deadline_ms = options.deadline_ms;
  result.send_overrun_ms = open_loop
                               ? std::chrono::duration<double, std::milli>(
                                     sends_done - last_intended)
                                     .count()
                               : 0;
  result.unsent = unsent;
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.client_cpu_s = CpuSeconds() - cpu_before;
  return result;
}

}  // namespace fastrel::loadtest
