#include <string>

#include "fastrel/v1/scorer.pb.h"
#include "gtest/gtest.h"
#include "server/rpc/score_request_wire.pb.h"

namespace fastrel::server {
namespace {

TEST(ScoreRequestWireTest, ParsesThePublicMessageFieldForField) {
  fastrel::v1::ScoreRequest request;
  request.set_model("demo");
  request.set_query("a query");
  request.add_documents("first");
  request.add_documents("second");
  request.mutable_options()->set_budget_ms(12.5);
  request.mutable_options()->set_variant("lat-a");
  request.mutable_options()->set_return_token_counts(true);
  wire::ScoreRequestWire parsed;
  ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(parsed.model(), "demo");
  EXPECT_EQ(parsed.query(), "a query");
  ASSERT_EQ(parsed.documents_size(), 2);
  EXPECT_EQ(parsed.documents(1), "second");
  EXPECT_EQ(parsed.options().budget_ms(), 12.5);
  EXPECT_EQ(parsed.options().variant(), "lat-a");
  EXPECT_TRUE(parsed.options().return_token_counts());
  // And back: the public message reads what the wire view writes.
  fastrel::v1::ScoreRequest round;
  ASSERT_TRUE(round.ParseFromString(parsed.SerializeAsString()));
  EXPECT_EQ(round.SerializeAsString(), request.SerializeAsString());
}

TEST(ScoreRequestWireTest, KeepsInvalidUtf8ThatThePublicMessageRejects) {
  wire::ScoreRequestWire raw;
  raw.set_query("caf\xc3");
  raw.add_documents("ok");
  const std::string bytes = raw.SerializeAsString();
  wire::ScoreRequestWire parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.query(), "caf\xc3");
  fastrel::v1::ScoreRequest strict;
  EXPECT_FALSE(strict.ParseFromString(bytes));
}

}  // namespace
}  // namespace fastrel::server
