#include "server/workers/worker_pool.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/runtime/packed_batch.h"

namespace fastrel::server {
namespace {

// The CPUs this process may run on, in increasing order.
std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  return cpus;
}

void PinCurrentThread(int worker_index) {
  std::vector<int> cpus = AllowedCpus();
  if (cpus.empty()) return;
  int cpu = cpus[worker_index % cpus.size()];
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) {
    std::fprintf(stderr,
                 "fastrel: worker %d: cannot pin to CPU %d (error %d)\n",
                 worker_index, cpu, rc);
  }
}

// CPU time consumed by the calling thread.
absl::Duration ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

// Fails every item of `items` with `status`, counting them as shed.
void FailItems(std::vector<WorkItem>& items, const absl::Status& status) {
  for (WorkItem& item : items) item.request->Fail(status);
}

}  // namespace

int AvailableCpus() {
  int n = static_cast<int>(AllowedCpus().size());
  return n > 0 ? n : 1;
}

WorkerPool::WorkerPool(const WorkerPoolOptions& options, Batcher* batcher,
                       const Scheduler* scheduler, Clock* clock,
                       ServerMetrics* metrics)
    : options_(options),
      num_workers_(options.num_workers > 0 ? options.num_workers
                                           : AvailableCpus()),
      batcher_(batcher),
      scheduler_(scheduler),
      clock_(clock),
      metrics_(metrics) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  threads_.reserve(num_workers_);
  for (int i = 0; i < num_workers_; ++i) {
    threads_.emplace_back([this, i] { Run(i); });
  }
}

void WorkerPool::Stop() {
  batcher_->Shutdown();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::Run(int worker_index) {
  if (options_.pin_to_cores) PinCurrentThread(worker_index);
  // Kernels run single-threaded: parallelism comes from the workers.
  omp_set_num_threads(1);

  // Workspaces by servable; the shared_ptr keeps the servable alive as long
  // as its workspace exists.
  struct CachedWorkspace {
    std::shared_ptr<const Servable> servable;
    std::unique_ptr<ServableWorkspace> workspace;
  };
  absl::flat_hash_map<const Servable*, CachedWorkspace> workspaces;

  Batch batch;
  PackedBatch packed;
  std::vector<float> logits;
  while (batcher_->NextBatch(&batch)) {
    const std::string& model =
        batch.servable != nullptr ? batch.servable->name() : "";
    for (WorkItem& item : batch.expired) {
      item.request->Fail(
          DeadlinePassedStatus(batch.formed - item.enqueue_time));
    }
    if (metrics_ != nullptr && !batch.expired.empty()) {
      metrics_->RecordShed(model, "deadline_exceeded",
                           static_cast<int>(batch.expired.size()));
    }
    batch.expired.clear();
    if (batch.items.empty()) continue;

    const Servable& servable = *batch.servable;
    BatchPlan plan =
        scheduler_->Plan(std::move(batch.items), clock_->Now(), servable);
    batch.items.clear();
    for (auto& [item, status] : plan.shed) {
      if (metrics_ != nullptr) {
        metrics_->RecordShed(
            model,
            status.code() == absl::StatusCode::kDeadlineExceeded
                ? "deadline_exceeded"
                : "resource_exhausted",
            1);
      }
      item.request->Fail(status);
    }
    if (plan.run.empty()) continue;

    if (!workspaces.contains(batch.servable.get())) {
      // A new servable (e.g. a new model version): free the workspaces of
      // servables nobody else holds any more. (The cache's reference keeps a
      // cached servable alive, so its address cannot be reused meanwhile.)
      absl::erase_if(workspaces, [](const auto& entry) {
        return entry.second.servable.use_count() == 1;
      });
    }
    CachedWorkspace& cached = workspaces[batch.servable.get()];
    if (cached.workspace == nullptr) {
      cached.servable = batch.servable;
      cached.workspace = servable.NewWorkspace();
    }
    packed.Clear();
    for (const WorkItem& item : plan.run) {
      packed.Add(item.pair.input_ids, item.pair.token_type_ids);
    }
    logits.assign(plan.run.size(), 0.0f);
    const absl::Time start = clock_->Now();
    const absl::Duration cpu_start = ThreadCpuTime();
    absl::Status status =
        servable.Run(packed, plan.variant, cached.workspace.get(), logits);
    const absl::Duration cpu = ThreadCpuTime() - cpu_start;
    const absl::Duration compute = clock_->Now() - start;
    if (!status.ok()) {
      FailItems(plan.run,
                absl::InternalError(absl::StrCat(
                    "model '", model, "' failed: ", status.message())));
      continue;
    }
    if (metrics_ != nullptr) {
      metrics_->RecordBatch(model, servable.variants()[plan.variant].name,
                            packed.num_sequences(), packed.total_tokens(),
                            compute);
      if (plan.predicted_cost > absl::ZeroDuration()) {
        metrics_->RecordCostPrediction(model,
                                       servable.variants()[plan.variant].name,
                                       plan.predicted_cost, compute, cpu);
      }
    }
    // Deliver per request: one Complete call per request in this batch.
    absl::flat_hash_map<PendingRequest*, std::vector<std::pair<int, float>>>
        by_request;
    absl::flat_hash_map<PendingRequest*, absl::Duration> waited;
    for (size_t i = 0; i < plan.run.size(); ++i) {
      const WorkItem& item = plan.run[i];
      by_request[item.request.get()].emplace_back(item.index, logits[i]);
      absl::Duration& w = waited[item.request.get()];
      w = std::max(w, start - item.enqueue_time);
    }
    for (auto& [request, scores] : by_request) {
      request->Complete(scores, plan.variant, waited[request], compute);
    }
    // Items (and their request references) are released here, after every
    // Complete call: the requests are still alive above.
    plan.run.clear();
  }
}

}  // namespace fastrel::server
