#include "server/batching/batcher.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_servable.h"

namespace fastrel::server {
namespace {

using testing::FakeServable;

std::vector<WorkItem> Items(const Servable& s, int n, absl::Time deadline) {
  auto request =
      std::make_shared<PendingRequest>(n, deadline, [](RequestResult) {});
  std::vector<WorkItem> items(n);
  for (int i = 0; i < n; ++i) {
    items[i].request = request;
    items[i].index = i;
    items[i].pair = s.Encode("q", "a b c");
    items[i].deadline = deadline;
  }
  return items;
}

BatchQueueOptions Options() {
  BatchQueueOptions o;
  o.max_batch_tokens = 1000;
  o.max_queue_delay = absl::Milliseconds(2);
  return o;
}

TEST(BatcherTest, ReleasesAPartialBatchAfterTheDelayOnTheFakeClock) {
  FakeClock clock;
  Batcher batcher(Options(), &clock, nullptr);
  auto model = std::make_shared<FakeServable>();
  auto items = Items(*model, 3, clock.Now() + absl::Seconds(1));
  ASSERT_TRUE(batcher.Enqueue(model, items).ok());
  EXPECT_EQ(batcher.queued_items(), 3);
  Batch batch;
  EXPECT_FALSE(batcher.TryNextBatch(&batch));
  clock.Advance(absl::Milliseconds(2));
  ASSERT_TRUE(batcher.TryNextBatch(&batch));
  EXPECT_EQ(batch.servable, model);
  EXPECT_EQ(batch.items.size(), 3u);
  EXPECT_EQ(batch.formed, clock.Now());
  EXPECT_EQ(batcher.queued_items(), 0);
}

TEST(BatcherTest, PicksTheModelWithTheMostUrgentReadyBatch) {
  FakeClock clock;
  Batcher batcher(Options(), &clock, nullptr);
  auto a = std::make_shared<FakeServable>("a");
  auto b = std::make_shared<FakeServable>("b");
  auto items_a = Items(*a, 1, clock.Now() + absl::Seconds(2));
  auto items_b = Items(*b, 1, clock.Now() + absl::Seconds(1));
  ASSERT_TRUE(batcher.Enqueue(a, items_a).ok());
  ASSERT_TRUE(batcher.Enqueue(b, items_b).ok());
  clock.Advance(absl::Milliseconds(5));
  Batch batch;
  ASSERT_TRUE(batcher.TryNextBatch(&batch));
  EXPECT_EQ(batch.servable, b);
  ASSERT_TRUE(batcher.TryNextBatch(&batch));
  EXPECT_EQ(batch.servable, a);
  EXPECT_FALSE(batcher.TryNextBatch(&batch));
}

TEST(BatcherTest, QueueFullIsResourceExhausted) {
  FakeClock clock;
  BatchQueueOptions o = Options();
  o.max_queued_items = 4;
  Batcher batcher(o, &clock, nullptr);
  auto model = std::make_shared<FakeServable>();
  auto items = Items(*model, 3, clock.Now() + absl::Seconds(1));
  ASSERT_TRUE(batcher.Enqueue(model, items).ok());
  auto more = Items(*model, 2, clock.Now() + absl::Seconds(1));
  EXPECT_EQ(batcher.Enqueue(model, more).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(BatcherTest, ShutdownDrainsWithoutWaitingThenStops) {
  FakeClock clock;
  Batcher batcher(Options(), &clock, nullptr);
  auto model = std::make_shared<FakeServable>();
  auto items = Items(*model, 2, clock.Now() + absl::Seconds(1));
  ASSERT_TRUE(batcher.Enqueue(model, items).ok());
  batcher.Shutdown();
  auto late = Items(*model, 1, clock.Now() + absl::Seconds(1));
  EXPECT_EQ(batcher.Enqueue(model, late).code(),
            absl::StatusCode::kUnavailable);
  Batch batch;
  ASSERT_TRUE(batcher.NextBatch(&batch));  // no delay while draining
  EXPECT_EQ(batch.items.size(), 2u);
  EXPECT_FALSE(batcher.NextBatch(&batch));
}

TEST(BatcherTest, BlockedWorkerWakesForNewWork) {
  Batcher batcher(Options(), RealClock(), nullptr);
  auto model = std::make_shared<FakeServable>();
  absl::Notification got;
  size_t size = 0;
  std::thread worker([&] {
    Batch batch;
    while (batcher.NextBatch(&batch)) {
      size = batch.items.size();
      got.Notify();
    }
  });
  auto items = Items(*model, 5, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(batcher.Enqueue(model, items).ok());
  EXPECT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(20)));
  batcher.Shutdown();
  worker.join();
  EXPECT_EQ(size, 5u);
}

}  // namespace
}  // namespace fastrel::server
