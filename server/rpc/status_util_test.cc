#include "server/rpc/status_util.h"

#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

TEST(StatusUtilTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(StatusUtilTest, CodeAndMessageCarryOver) {
  struct Case {
    absl::Status in;
    grpc::StatusCode want;
  } cases[] = {
      {absl::InvalidArgumentError("query is empty"),
       grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("unknown model 'x'"), grpc::StatusCode::NOT_FOUND},
      {absl::DeadlineExceededError("late"),
       grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::ResourceExhaustedError("shed"),
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("draining"), grpc::StatusCode::UNAVAILABLE},
      {absl::CancelledError("bye"), grpc::StatusCode::CANCELLED},
      {absl::InternalError("bug"), grpc::StatusCode::INTERNAL},
      {absl::UnauthenticatedError("who"), grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const Case& c : cases) {
    grpc::Status out = ToGrpcStatus(c.in);
    EXPECT_EQ(out.error_code(), c.want) << c.in;
    EXPECT_EQ(out.error_message(), c.in.message());
  }
}

TEST(StatusUtilTest, UnknownCodeBecomesUnknown) {
  absl::Status odd(static_cast<absl::StatusCode>(42), "odd");
  EXPECT_EQ(ToGrpcStatus(odd).error_code(), grpc::StatusCode::UNKNOWN);
}

}  // namespace
}  // namespace fastrel::server
