#include "server/batching/pending_request.h"

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

using ::testing::ElementsAre;

TEST(PendingRequestTest, CompletesOnceWithScoresInItemOrder) {
  int calls = 0;
  RequestResult got;
  PendingRequest r(3, absl::InfiniteFuture(), [&](RequestResult result) {
    ++calls;
    got = std::move(result);
  });
  std::vector<std::pair<int, float>> a = {{2, 2.5f}};
  r.Complete(a, /*variant=*/0, absl::Milliseconds(1), absl::Milliseconds(3));
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(r.finished());
  std::vector<std::pair<int, float>> b = {{0, 0.5f}, {1, 1.5f}};
  r.Complete(b, /*variant=*/1, absl::Milliseconds(2), absl::Milliseconds(4));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(r.finished());
  EXPECT_TRUE(got.status.ok());
  EXPECT_THAT(got.scores, ElementsAre(0.5f, 1.5f, 2.5f));
  EXPECT_EQ(got.variant, 1);                      // the least accurate one used
  EXPECT_EQ(got.queue, absl::Milliseconds(2));    // longest wait
  EXPECT_EQ(got.compute, absl::Milliseconds(7));  // summed over batches
  // Late failures are ignored.
  EXPECT_FALSE(r.Fail(absl::InternalError("late")));
  EXPECT_EQ(calls, 1);
}

TEST(PendingRequestTest, FirstFailureWinsAndLaterScoresAreIgnored) {
  int calls = 0;
  absl::Status got;
  PendingRequest r(2, absl::InfiniteFuture(), [&](RequestResult result) {
    ++calls;
    got = result.status;
  });
  EXPECT_TRUE(r.Fail(absl::DeadlineExceededError("late")));
  EXPECT_FALSE(r.Fail(absl::ResourceExhaustedError("shed")));
  std::vector<std::pair<int, float>> all = {{0, 1.0f}, {1, 2.0f}};
  r.Complete(all, 0, absl::ZeroDuration(), absl::ZeroDuration());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(PendingRequestTest, DroppedUnfinishedRequestStillEnds) {
  int calls = 0;
  absl::Status got;
  {
    PendingRequest r(1, absl::InfiniteFuture(), [&](RequestResult result) {
      ++calls;
      got = result.status;
    });
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.code(), absl::StatusCode::kInternal);
}

TEST(PendingRequestTest, RacingCompletionsAndFailuresEndExactlyOnce) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> calls{0};
    constexpr int kItems = 64;
    auto r = std::make_shared<PendingRequest>(kItems, absl::InfiniteFuture(),
                                              [&](RequestResult) { ++calls; });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kItems; i += 4) {
          std::pair<int, float> s{i, 1.0f};
          r->Complete({&s, 1}, 0, absl::ZeroDuration(), absl::ZeroDuration());
          if (round % 2 == 1 && i == 33) r->Fail(absl::CancelledError("x"));
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(calls.load(), 1);
  }
}

}  // namespace
}  // namespace fastrel::server
