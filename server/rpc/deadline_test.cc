#include "server/rpc/deadline.h"

#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

const absl::Time kReceipt = absl::FromUnixSeconds(1'700'000'000);
const absl::Duration kDefault = absl::Milliseconds(50);

TEST(RequestDeadlineTest, DefaultBudgetWhenNeitherIsSet) {
  EXPECT_EQ(RequestDeadline(kReceipt, absl::InfiniteFuture(), 0, kDefault),
            kReceipt + kDefault);
}

TEST(RequestDeadlineTest, BudgetAlone) {
  EXPECT_EQ(RequestDeadline(kReceipt, absl::InfiniteFuture(), 12.5, kDefault),
            kReceipt + absl::Microseconds(12500));
}

TEST(RequestDeadlineTest, GrpcDeadlineAlone) {
  const absl::Time d = kReceipt + absl::Seconds(3);
  EXPECT_EQ(RequestDeadline(kReceipt, d, 0, kDefault), d);
}

TEST(RequestDeadlineTest, EarlierOfBoth) {
  const absl::Time grpc = kReceipt + absl::Milliseconds(20);
  EXPECT_EQ(RequestDeadline(kReceipt, grpc, 30, kDefault), grpc);
  EXPECT_EQ(RequestDeadline(kReceipt, grpc, 5, kDefault),
            kReceipt + absl::Milliseconds(5));
}

}  // namespace
}  // namespace fastrel::server
