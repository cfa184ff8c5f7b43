#include "server/workers/worker_pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_servable.h"

namespace fastrel::server {
namespace {

using testing::FakeServable;

// One request's outcome, filled by its completion callback.
struct Outcome {
  std::atomic<int> calls{0};
  RequestResult result;
  absl::Notification done;
};

// Queues one request of `docs` for `model` and returns its outcome.
std::shared_ptr<Outcome> Submit(Batcher& batcher,
                                const std::shared_ptr<FakeServable>& model,
                                const std::vector<std::string>& docs,
                                absl::Time deadline, int pin = -1) {
  auto outcome = std::make_shared<Outcome>();
  auto request = std::make_shared<PendingRequest>(
      static_cast<int>(docs.size()), deadline, [outcome](RequestResult r) {
        outcome->result = std::move(r);
        outcome->calls.fetch_add(1);
        outcome->done.Notify();
      });
  std::vector<WorkItem> items(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    items[i].request = request;
    items[i].index = static_cast<int>(i);
    items[i].pair = model->Encode("the query", docs[i]);
    items[i].pinned_variant = pin;
    items[i].deadline = deadline;
  }
  absl::Status s = batcher.Enqueue(model, items);
  if (!s.ok()) request->Fail(s);
  return outcome;
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  void Start(int workers) {
    BatchQueueOptions q;
    q.max_batch_tokens = 64;
    q.max_queue_delay = absl::Microseconds(500);
    batcher_ = std::make_unique<Batcher>(q, RealClock(), &metrics_);
    scheduler_ = std::make_unique<Scheduler>(SchedulerOptions{}, nullptr);
    WorkerPoolOptions w;
    w.num_workers = workers;
    pool_ = std::make_unique<WorkerPool>(w, batcher_.get(), scheduler_.get(),
                                         RealClock(), &metrics_);
    pool_->Start();
  }
  void TearDown() override {
    if (pool_ != nullptr) pool_->Stop();
  }

  ServerMetrics metrics_;
  std::shared_ptr<FakeServable> model_ = std::make_shared<FakeServable>();
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<WorkerPool> pool_;
};

TEST_F(WorkerPoolTest, ScoresComeBackInRequestOrder) {
  Start(2);
  std::vector<std::string> docs;
  for (int i = 0; i < 40; ++i) {
    docs.push_back(absl::StrCat("doc ", std::string(i % 7 + 1, 'x'), " ", i));
  }
  auto out = Submit(*batcher_, model_, docs, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(out->result.status.ok()) << out->result.status;
  ASSERT_EQ(out->result.scores.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_FLOAT_EQ(out->result.scores[i],
                    model_->ExpectedScore("the query", docs[i]))
        << "document " << i;
  }
  EXPECT_EQ(out->result.variant, 0);
  // 40 pairs of ~7 tokens with a 64-token budget need several batches.
  EXPECT_GT(model_->batches_run.load(), 1);
}

TEST_F(WorkerPoolTest, PinnedVariantRuns) {
  Start(1);
  auto out = Submit(*batcher_, model_, {"a b"}, absl::Now() + absl::Seconds(30),
                    /*pin=*/1);
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(out->result.status.ok());
  EXPECT_EQ(out->result.variant, 1);
  EXPECT_FLOAT_EQ(out->result.scores[0],
                  model_->ExpectedScore("the query", "a b", 1));
}

TEST_F(WorkerPoolTest, ConcurrentRequestsEachEndExactlyOnce) {
  Start(2);
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::shared_ptr<Outcome>> outcomes(kThreads * kPerThread);
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<std::string> docs(i % 5 + 1, absl::StrCat("w", t, " ", i));
        outcomes[t * kPerThread + i] =
            Submit(*batcher_, model_, docs, absl::Now() + absl::Seconds(30));
      }
    });
  }
  for (auto& c : clients) c.join();
  for (int k = 0; k < kThreads * kPerThread; ++k) {
    auto& out = outcomes[k];
    ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_TRUE(out->result.status.ok());
    std::string doc = absl::StrCat("w", k / kPerThread, " ", k % kPerThread);
    for (float s : out->result.scores) {
      EXPECT_FLOAT_EQ(s, model_->ExpectedScore("the query", doc));
    }
  }
  pool_->Stop();  // joins: no callback can still be running
  for (auto& out : outcomes) EXPECT_EQ(out->calls.load(), 1);
  // One workspace per worker that ran something, never one per batch.
  EXPECT_LE(model_->workspaces_created.load(), 2);
}

TEST_F(WorkerPoolTest, EngineErrorFailsTheRequestWithInternal) {
  model_->fail_runs = true;
  Start(1);
  auto out =
      Submit(*batcher_, model_, {"a", "b"}, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(out->result.status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(out->result.status.message(),
              ::testing::HasSubstr("fake engine failure"));
}

TEST_F(WorkerPoolTest, RequestPastItsDeadlineIsNotRun) {
  Start(1);
  auto out = Submit(*batcher_, model_, {"a"}, absl::Now() - absl::Seconds(1));
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(out->result.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(model_->batches_run.load(), 0);
}

TEST_F(WorkerPoolTest, StopFinishesQueuedWork) {
  model_->run_delay_micros = 2000;
  Start(1);
  std::vector<std::shared_ptr<Outcome>> outs;
  for (int i = 0; i < 10; ++i) {
    outs.push_back(Submit(*batcher_, model_, {"a b c d e f g h i j"},
                          absl::Now() + absl::Seconds(60)));
  }
  pool_->Stop();
  for (auto& out : outs) {
    EXPECT_TRUE(out->done.WaitForNotificationWithTimeout(absl::ZeroDuration()));
    EXPECT_TRUE(out->result.status.ok());
  }
}

TEST_F(WorkerPoolTest, WorkspaceOfAReplacedServableIsFreed) {
  Start(1);
  std::weak_ptr<FakeServable> old_model = model_;
  auto out = Submit(*batcher_, model_, {"a"}, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // "Hot swap": the registry drops the old version, a new one takes traffic.
  model_ = std::make_shared<FakeServable>();
  auto next = Submit(*batcher_, model_, {"b"}, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(next->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  pool_->Stop();  // the worker has finished its bookkeeping
  EXPECT_TRUE(old_model.expired());
}

// The cost-model series of `metrics`: samples of the relative-error
// histogram per clock, and the predicted seconds counted.
struct CostSeries {
  uint64_t wall_samples = 0, cpu_samples = 0;
  double predicted_seconds = 0;
};
CostSeries CostMetrics(const ServerMetrics& metrics) {
  CostSeries out;
  for (const auto& family : metrics.registry()->Collect()) {
    for (const auto& metric : family.metric) {
      if (family.name == "fastrel_cost_prediction_relative_error") {
        for (const auto& label : metric.label) {
          if (label.name != "clock") continue;
          (label.value == "wall" ? out.wall_samples : out.cpu_samples) +=
              metric.histogram.sample_count;
        }
      }
      if (family.name == "fastrel_cost_predicted_seconds_total") {
        out.predicted_seconds += metric.counter.value;
      }
    }
  }
  return out;
}

TEST_F(WorkerPoolTest, PredictedAndMeasuredCostsAreRecordedPerBatch) {
  model_->cost_micros_per_token = 1;  // a "cost model": ~20 us per batch
  Start(1);
  auto outcome = Submit(*batcher_, model_, {"a b c", "d e"},
                        absl::Now() + absl::Seconds(60));
  outcome->done.WaitForNotification();
  ASSERT_TRUE(outcome->result.status.ok()) << outcome->result.status;
  pool_->Stop();
  const CostSeries cost = CostMetrics(metrics_);
  const uint64_t batches = static_cast<uint64_t>(model_->batches_run.load());
  ASSERT_GE(batches, 1u);
  EXPECT_EQ(cost.wall_samples, batches);
  EXPECT_EQ(cost.cpu_samples, batches);
  EXPECT_GT(cost.predicted_seconds, 0);
}

TEST_F(WorkerPoolTest, WithoutACostModelNoPredictionIsRecorded) {
  Start(1);
  auto outcome =
      Submit(*batcher_, model_, {"a b c"}, absl::Now() + absl::Seconds(60));
  outcome->done.WaitForNotification();
  ASSERT_TRUE(outcome->result.status.ok());
  pool_->Stop();
  const CostSeries cost = CostMetrics(metrics_);
  EXPECT_EQ(cost.wall_samples + cost.cpu_samples, 0u);
  EXPECT_EQ(cost.predicted_seconds, 0);
}

TEST(AvailableCpusTest, AtLeastOne) { EXPECT_GE(AvailableCpus(), 1); }

}  // namespace
}  // namespace fastrel::server
