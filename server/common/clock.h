// Time source for the server. Production code uses RealClock(); the batching
// and scheduler unit tests inject a FakeClock so that time only moves when the
// test says so.
#ifndef FASTREL_SERVER_COMMON_CLOCK_H_
#define FASTREL_SERVER_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fastrel::server {

// Thread safety: implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current time.
  virtual absl::Time Now() const = 0;
};

// The process-wide wall clock (absl::Now()). Never null, never freed.
Clock* RealClock();

// A clock that moves only when told to. Starts at an arbitrary fixed time.
// Thread safety: thread-safe.
class FakeClock : public Clock {
 public:
  FakeClock();
  absl::Time Now() const override;
  // Moves the clock forward by `d` (d >= 0).
  void Advance(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_COMMON_CLOCK_H_
