#include "server/batching/batch_queue.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// A request whose completion the tests ignore.
std::shared_ptr<PendingRequest> Request(int n = 1) {
  return std::make_shared<PendingRequest>(n, absl::InfiniteFuture(),
                                          [](RequestResult) {});
}

WorkItem Item(int index, int tokens, absl::Time deadline, int pin = -1,
              std::shared_ptr<PendingRequest> request = nullptr) {
  WorkItem item;
  item.request = request != nullptr ? request : Request();
  item.index = index;
  item.pair.input_ids.assign(tokens, 7);
  item.pair.token_type_ids.assign(tokens, 0);
  item.pinned_variant = pin;
  item.deadline = deadline;
  return item;
}

std::vector<int> Indices(const std::vector<WorkItem>& items) {
  std::vector<int> out;
  for (const WorkItem& i : items) out.push_back(i.index);
  return out;
}

BatchQueueOptions Options() {
  BatchQueueOptions o;
  o.max_batch_tokens = 100;
  o.max_queue_delay = absl::Milliseconds(2);
  o.max_queued_items = 10;
  return o;
}

absl::Status Add(BatchQueue& q, std::vector<WorkItem> items, absl::Time now) {
  return q.Enqueue(items, now);
}

TEST(BatchQueueTest, EmptyQueueIsNeverReady) {
  BatchQueue q(Options());
  EXPECT_FALSE(q.Ready(kT0 + absl::Hours(1)));
  EXPECT_EQ(q.NextReadyTime(), absl::InfiniteFuture());
}

TEST(BatchQueueTest, PartialBatchWaitsForMaxDelay) {
  BatchQueue q(Options());
  const absl::Time deadline = kT0 + absl::Seconds(1);
  ASSERT_TRUE(Add(q, {Item(0, 30, deadline)}, kT0).ok());
  EXPECT_FALSE(q.Ready(kT0));
  EXPECT_FALSE(q.Ready(kT0 + absl::Microseconds(1999)));
  EXPECT_TRUE(q.Ready(kT0 + absl::Milliseconds(2)));
  EXPECT_EQ(q.NextReadyTime(), kT0 + absl::Milliseconds(2));
  // The delay runs from the oldest item, not the newest.
  ASSERT_TRUE(
      Add(q, {Item(1, 30, deadline)}, kT0 + absl::Milliseconds(1)).ok());
  EXPECT_EQ(q.NextReadyTime(), kT0 + absl::Milliseconds(2));
}

TEST(BatchQueueTest, FullTokenBudgetIsReadyAtOnce) {
  BatchQueue q(Options());
  const absl::Time deadline = kT0 + absl::Seconds(1);
  ASSERT_TRUE(Add(q, {Item(0, 60, deadline), Item(1, 60, deadline)}, kT0).ok());
  EXPECT_TRUE(q.Ready(kT0));
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  // 60 + 60 > 100: the second item waits for the next batch.
  EXPECT_THAT(Indices(batch), ElementsAre(0));
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(q.size(), 1);
  EXPECT_EQ(q.queued_tokens(), 60);
  EXPECT_FALSE(q.Ready(kT0));
}

TEST(BatchQueueTest, BatchFillsUpToTokenBudget) {
  BatchQueue q(Options());
  const absl::Time deadline = kT0 + absl::Seconds(1);
  ASSERT_TRUE(Add(q,
                  {Item(0, 40, deadline), Item(1, 40, deadline),
                   Item(2, 20, deadline), Item(3, 1, deadline)},
                  kT0)
                  .ok());
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(0, 1, 2));  // exactly 100 tokens
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(3));
  EXPECT_TRUE(q.empty());
}

TEST(BatchQueueTest, OversizedItemFormsItsOwnBatch) {
  BatchQueue q(Options());
  ASSERT_TRUE(Add(q, {Item(0, 500, kT0 + absl::Seconds(1))}, kT0).ok());
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(0));
}

TEST(BatchQueueTest, EarliestDeadlineFirstWithArrivalOrderTies) {
  BatchQueue q(Options());
  ASSERT_TRUE(Add(q,
                  {Item(0, 40, kT0 + absl::Milliseconds(30)),
                   Item(1, 40, kT0 + absl::Milliseconds(10)),
                   Item(2, 40, kT0 + absl::Milliseconds(20)),
                   Item(3, 40, kT0 + absl::Milliseconds(10))},
                  kT0)
                  .ok());
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(1, 3));
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(2, 0));
}

TEST(BatchQueueTest, QueueFullRejectsAllOrNothing) {
  BatchQueue q(Options());  // max 10 items
  std::vector<WorkItem> items;
  for (int i = 0; i < 8; ++i)
    items.push_back(Item(i, 1, kT0 + absl::Seconds(1)));
  ASSERT_TRUE(q.Enqueue(items, kT0).ok());
  EXPECT_TRUE(items.empty());
  std::vector<WorkItem> more;
  for (int i = 0; i < 3; ++i)
    more.push_back(Item(i, 1, kT0 + absl::Seconds(1)));
  absl::Status s = q.Enqueue(more, kT0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("max_queued_items"));
  EXPECT_EQ(more.size(), 3u);  // nothing taken
  EXPECT_EQ(q.size(), 8);
  more.pop_back();
  EXPECT_TRUE(q.Enqueue(more, kT0).ok());
  EXPECT_EQ(q.size(), 10);
}

TEST(BatchQueueTest, ExpiredItemsAreReturnedSeparately) {
  BatchQueue q(Options());
  ASSERT_TRUE(Add(q,
                  {Item(0, 10, kT0 + absl::Milliseconds(1)),
                   Item(1, 10, kT0 + absl::Seconds(1))},
                  kT0)
                  .ok());
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0 + absl::Milliseconds(5), &batch, &expired);
  EXPECT_THAT(Indices(expired), ElementsAre(0));
  EXPECT_THAT(Indices(batch), ElementsAre(1));
}

TEST(BatchQueueTest, UrgentDeadlineSkipsTheDelay) {
  BatchQueue q(Options());  // 2 ms delay
  ASSERT_TRUE(Add(q, {Item(0, 10, kT0 + absl::Microseconds(1500))}, kT0).ok());
  // Waiting 2 ms would pass the deadline: ready at once.
  EXPECT_TRUE(q.Ready(kT0));
}

TEST(BatchQueueTest, BatchHoldsOnlyOnePinnedVariant) {
  BatchQueue q(Options());
  const absl::Time d = kT0 + absl::Seconds(1);
  ASSERT_TRUE(Add(q,
                  {Item(0, 10, d, /*pin=*/1), Item(1, 10, d, -1),
                   Item(2, 10, d, 1), Item(3, 10, d, -1)},
                  kT0)
                  .ok());
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(0, 2));
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(1, 3));
}

TEST(BatchQueueTest, ItemsOfFinishedRequestsAreDropped) {
  BatchQueue q(Options());
  auto cancelled = Request(2);
  const absl::Time d = kT0 + absl::Seconds(1);
  ASSERT_TRUE(Add(q,
                  {Item(0, 10, d, -1, cancelled), Item(1, 10, d),
                   Item(2, 10, d, -1, cancelled)},
                  kT0)
                  .ok());
  cancelled->Fail(absl::CancelledError("gone"));
  std::vector<WorkItem> batch, expired;
  q.PopBatch(kT0, &batch, &expired);
  EXPECT_THAT(Indices(batch), ElementsAre(1));
  EXPECT_TRUE(expired.empty());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.queued_tokens(), 0);
}

}  // namespace
}  // namespace fastrel::server
