// Inference workers: one thread per core, each pinned to its core, running
// single-threaded kernels with its own engine workspaces. Workers pull
// batches from the Batcher, plan them with the Scheduler, run them on the
// servable and deliver scores (or failures) to the pending requests.
#ifndef FASTREL_SERVER_WORKERS_WORKER_POOL_H_
#define FASTREL_SERVER_WORKERS_WORKER_POOL_H_

#include <memory>
#include <thread>
#include <vector>

#include "server/batching/batcher.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/scheduler/scheduler.h"

namespace fastrel::server {

struct WorkerPoolOptions {
  // Number of worker threads; 0 = one per CPU the process may run on.
  int num_workers = 0;
  // Pin worker i to the i-th allowed CPU (mod the number of allowed CPUs).
  bool pin_to_cores = true;
};

// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int AvailableCpus();

// Thread safety: Start and Stop are called from one controlling thread.
class WorkerPool {
 public:
  // Every pointer must outlive the pool; `metrics` may be null.
  WorkerPool(const WorkerPoolOptions& options, Batcher* batcher,
             const Scheduler* scheduler, Clock* clock, ServerMetrics* metrics);
  // Stops the pool if still running.
  ~WorkerPool();

  // Starts the threads. Call once.
  void Start();
  // Shuts the batcher down, lets the workers drain the queues, joins them.
  void Stop();

  int num_workers() const { return num_workers_; }

 private:
  void Run(int worker_index);

  const WorkerPoolOptions options_;
  const int num_workers_;
  Batcher* const batcher_;
  const Scheduler* const scheduler_;
  Clock* const clock_;
  ServerMetrics* const metrics_;

  std::vector<std::thread> threads_;
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_WORKERS_WORKER_POOL_H_
