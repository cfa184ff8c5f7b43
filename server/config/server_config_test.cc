#include "server/config/server_config.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fastrel::server {
namespace {

using ::testing::HasSubstr;

TEST(ServerConfigTest, EmptyConfigGetsEveryDefault) {
  auto config = ParseServerConfig("", "empty");
  ASSERT_TRUE(config.ok());
  ApplyDefaults(&*config, "/models/demo");
  EXPECT_EQ(config->listen_address(), "127.0.0.1");
  EXPECT_EQ(config->port(), 50051);
  ASSERT_EQ(config->models_size(), 1);
  EXPECT_EQ(config->models(0).name(), "demo");
  EXPECT_EQ(config->models(0).path(), "/models/demo");
  EXPECT_EQ(config->default_model(), "demo");
  EXPECT_EQ(config->limits().max_documents(), 1000);
  EXPECT_EQ(config->limits().max_query_bytes(), 4096);
  EXPECT_EQ(config->limits().max_document_bytes(), 65536);
  EXPECT_EQ(config->limits().max_message_bytes(), 16 << 20);
  EXPECT_EQ(config->tokenizer().max_query_tokens(), 32);
  EXPECT_EQ(config->tokenizer().max_seq_len(), 0);
  EXPECT_EQ(config->batching().max_batch_tokens(), 4096);
  EXPECT_EQ(config->batching().max_queue_delay_micros(), 2000);
  EXPECT_EQ(config->batching().max_queued_items(), 100000);
  EXPECT_EQ(config->scheduler().default_budget_ms(), 50);
  EXPECT_FALSE(config->scheduler().disable_shedding());
  EXPECT_EQ(config->scheduler().cost_margin_fraction(), 0.2);
  EXPECT_EQ(config->scheduler().cost_margin_micros(), 500);
  EXPECT_FALSE(config->cost_model().disable());
  EXPECT_EQ(config->cost_model().budget_ms(), 1500);
  EXPECT_EQ(config->cost_model().min_shapes_per_variant(), 8);
  EXPECT_EQ(config->cost_model().max_batch_tokens(), 1024);
  EXPECT_EQ(config->cost_model().max_sequences(), 32);
  EXPECT_EQ(config->cost_model().reps_per_shape(), 1);
  EXPECT_EQ(config->cost_model().seed(), 1u);
  EXPECT_EQ(config->workers().num_workers(), 0);
  EXPECT_EQ(config->metrics_port(), 0);
  EXPECT_EQ(config->shutdown_grace_seconds(), 20);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, SetFieldsAreKept) {
  auto config = ParseServerConfig(R"pb(
                                    port: 6000
                                    models { name: "a" path: "/m/a" }
                                    models { name: "b" path: "/m/b" }
                                    default_model: "b"
                                    limits { max_documents: 7 }
                                    batching { max_queue_delay_micros: 10 }
                                  )pb",
                                  "inline");
  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config, "/unused");
  EXPECT_EQ(config->port(), 6000);
  EXPECT_EQ(config->models_size(), 2);
  EXPECT_EQ(config->default_model(), "b");
  EXPECT_EQ(config->limits().max_documents(), 7);
  EXPECT_EQ(config->limits().max_query_bytes(), 4096);
  EXPECT_EQ(config->batching().max_queue_delay_micros(), 10);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, ExplicitZeroMarginsAreKept) {
  auto config = ParseServerConfig(
      R"pb(
        scheduler { cost_margin_fraction: 0 cost_margin_micros: 0 }
      )pb",
      "inline");
  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config, "/unused");
  EXPECT_EQ(config->scheduler().cost_margin_fraction(), 0);
  EXPECT_EQ(config->scheduler().cost_margin_micros(), 0);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, BadCostModelValuesAreRejected) {
  auto config = ParseServerConfig("", "empty");
  ASSERT_TRUE(config.ok());
  ApplyDefaults(&*config, "/unused");
  config->mutable_scheduler()->set_cost_margin_fraction(-0.1);
  EXPECT_THAT(ValidateServerConfig(*config).message(),
              HasSubstr("cost_margin_fraction"));
  config->mutable_scheduler()->set_cost_margin_fraction(0.2);
  config->mutable_cost_model()->set_min_shapes_per_variant(2);
  EXPECT_THAT(ValidateServerConfig(*config).message(),
              HasSubstr("min_shapes_per_variant"));
  config->mutable_cost_model()->set_disable(true);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  config->mutable_cost_model()->set_budget_ms(-1);
  EXPECT_THAT(ValidateServerConfig(*config).message(),
              HasSubstr("cost_model.budget_ms"));
}

TEST(ServerConfigTest, ParseErrorNamesFileAndLine) {
  auto config =
      ParseServerConfig("port: 1\nno_such_field: 3\n", "my.textproto");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("my.textproto:2:"));
  EXPECT_THAT(config.status().message(), HasSubstr("no_such_field"));
}

TEST(ServerConfigTest, LoadsAFileAndReportsAMissingOne) {
  std::string path = ::testing::TempDir() + "/server_config_test.textproto";
  {
    std::ofstream out(path);
    out << "port: 7001\nmetrics_port: 9100\n";
  }
  auto config = LoadServerConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->port(), 7001);
  EXPECT_EQ(config->metrics_port(), 9100);
  std::filesystem::remove(path);
  auto missing = LoadServerConfigFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path));
}

TEST(ServerConfigTest, ValidationNamesTheField) {
  auto config = ParseServerConfig(R"pb(
                                    models { name: "a" path: "/m/a" }
                                    default_model: "zzz"
                                  )pb",
                                  "inline");
  ASSERT_TRUE(config.ok());
  ApplyDefaults(&*config, "/unused");
  absl::Status s = ValidateServerConfig(*config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("default_model"));

  config->set_default_model("a");
  config->set_port(70000);
  EXPECT_THAT(ValidateServerConfig(*config).message(), HasSubstr("port"));
}

TEST(ServerConfigTest, ExampleConfigInTheRepoParses) {
  auto config = LoadServerConfigFile(std::string(FASTREL_SOURCE_DIR) +
                                     "/config/fastrel.textproto");
  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config, "/unused");
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
}

TEST(ServerConfigTest, BundledModelDirHasAConfig) {
  EXPECT_TRUE(std::filesystem::exists(BundledModelDir() + "/config.json"))
      << BundledModelDir();
}

}  // namespace
}  // namespace fastrel::server
