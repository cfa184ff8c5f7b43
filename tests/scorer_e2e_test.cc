// End-to-end tests of fastrel.v1.Scorer: the real server (FastrelServer) on
// the bundled demo model, in-process on 127.0.0.1:<free port>, called over a
// real loopback gRPC channel.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fastrel/v1/scorer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/client/grpc_clients.h"
#include "server/config/server_config.h"
#include "server/server.h"
#include "tests/golden_pairs.h"

namespace fastrel::server {
namespace {

using fastrel::testing::GoldenPair;
using fastrel::v1::ScoreRequest;
using fastrel::v1::ScoreResponse;
using ::testing::HasSubstr;

// The fp32 engine against the PyTorch fp32 reference: same math, different
// summation order; 1e-4 on logits of magnitude ~1-10 leaves room for that
// and nothing else.
constexpr double kGoldenTolerance = 1e-4;
// The same pair scored alone or inside a larger packed batch: only the
// summation order inside GEMMs may differ.
constexpr double kBatchingTolerance = 1e-4;
// Generous client deadline for requests that must succeed (shared 2-core CI).
constexpr absl::Duration kClientTimeout = absl::Seconds(60);

fastrel::v1::ServerConfig TestConfig() {
  fastrel::v1::ServerConfig config;
  ApplyDefaults(&config, std::string(FASTREL_SOURCE_DIR) + "/models/demo");
  config.set_port(0);
  config.mutable_workers()->set_num_workers(2);
  config.mutable_workers()->set_disable_pinning(true);
  // Success cases must not be shed on a loaded CI machine.
  config.mutable_scheduler()->set_default_budget_ms(60000);
  config.set_shutdown_grace_seconds(30);
  // A small, quick calibration (every server start pays for it): the
  // cost-model tests below need a cost model, not a precise one.
  config.mutable_cost_model()->set_budget_ms(0);
  config.mutable_cost_model()->set_min_shapes_per_variant(4);
  config.mutable_cost_model()->set_max_batch_tokens(1024);
  return config;
}

// Sum of the samples (histograms) or values (counters, gauges) of metric
// `name` in `server` whose labels include every pair of `labels`.
double MetricSum(
    FastrelServer& server, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  double sum = 0;
  for (const auto& family : server.metrics().registry()->Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& label : metric.label) {
          found |= label.name == k && label.value == v;
        }
        match &= found;
      }
      if (!match) continue;
      sum += metric.counter.value + metric.gauge.value +
             static_cast<double>(metric.histogram.sample_count);
    }
  }
  return sum;
}

class ScorerE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = FastrelServer::Start(TestConfig());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        server_->target(), grpc::InsecureChannelCredentials()));
    golden_ = new std::vector<GoldenPair>(fastrel::testing::LoadGoldenPairs());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete channel_;
    delete golden_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_FALSE(golden_->empty())
        << "no golden pairs in " << fastrel::testing::GoldenPairsPath();
    stub_ = fastrel::v1::Scorer::NewStub(*channel_);
  }

  grpc::Status Score(const ScoreRequest& request, ScoreResponse* response,
                     absl::Duration timeout = kClientTimeout) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return stub_->Score(&context, request, response);
  }

  static ScoreRequest Request(const std::string& query,
                              const std::vector<std::string>& docs) {
    ScoreRequest r;
    r.set_query(query);
    for (const std::string& d : docs) r.add_documents(d);
    return r;
  }

  // Expects `request` to fail with `code` and a message containing `what`,
  // then checks the server still scores a good request.
  void ExpectRejected(const ScoreRequest& request, grpc::StatusCode code,
                      const std::string& what) {
    ScoreResponse response;
    grpc::Status status = Score(request, &response);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(what));
    EXPECT_EQ(response.scores_size(), 0);
    const GoldenPair& g = golden_->front();
    ScoreResponse ok;
    ASSERT_TRUE(Score(Request(g.query, {g.document}), &ok).ok())
        << "server stopped answering after a rejected request";
    EXPECT_NEAR(ok.scores(0), g.logit_full, kGoldenTolerance);
  }

  static FastrelServer* server_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::vector<GoldenPair>* golden_;
  std::unique_ptr<fastrel::v1::Scorer::Stub> stub_;
};

FastrelServer* ScorerE2ETest::server_ = nullptr;
std::shared_ptr<grpc::Channel>* ScorerE2ETest::channel_ = nullptr;
std::vector<GoldenPair>* ScorerE2ETest::golden_ = nullptr;

TEST_F(ScorerE2ETest, GoldenPairsMatchTheReferenceLogits) {
  for (size_t i = 0; i < golden_->size(); ++i) {
    const GoldenPair& g = (*golden_)[i];
    ScoreRequest request = Request(g.query, {g.document});
    request.mutable_options()->set_return_token_counts(true);
    ScoreResponse response;
    grpc::Status status = Score(request, &response);
    ASSERT_TRUE(status.ok()) << "pair " << i << ": " << status.error_message();
    ASSERT_EQ(response.scores_size(), 1);
    EXPECT_NEAR(response.scores(0), g.logit_full, kGoldenTolerance)
        << "pair " << i << " query '" << g.query << "'";
    ASSERT_EQ(response.token_counts_size(), 1);
    EXPECT_EQ(response.token_counts(0), g.num_tokens) << "pair " << i;
  }
}

TEST_F(ScorerE2ETest, ResponseNamesModelVersionVariantAndTimings) {
  const GoldenPair& g = golden_->front();
  ScoreResponse response;
  ASSERT_TRUE(Score(Request(g.query, {g.document}), &response).ok());
  EXPECT_EQ(response.model(), "demo");
  EXPECT_FALSE(response.model_version().empty());
  EXPECT_FALSE(response.variant().empty());
  EXPECT_GT(response.timings().total_us(), 0);
  EXPECT_GT(response.timings().compute_us(), 0);
  EXPECT_GE(response.timings().total_us(), response.timings().compute_us());
  EXPECT_EQ(response.token_counts_size(), 0);  // not asked for
  // Naming the default model explicitly gives the same result.
  ScoreRequest named = Request(g.query, {g.document});
  named.set_model("demo");
  ScoreResponse again;
  ASSERT_TRUE(Score(named, &again).ok());
  EXPECT_EQ(again.scores(0), response.scores(0));
  // Pinning the first (full) variant by name.
  ScoreRequest pinned = Request(g.query, {g.document});
  pinned.mutable_options()->set_variant(response.variant());
  ScoreResponse p;
  ASSERT_TRUE(Score(pinned, &p).ok());
  EXPECT_EQ(p.variant(), response.variant());
  EXPECT_NEAR(p.scores(0), g.logit_full, kGoldenTolerance);
}

TEST_F(ScorerE2ETest, ManyDocumentsComeBackInRequestOrder) {
  // One query against every golden document (more than one batch of 4096
  // tokens), compared with scoring each pair alone.
  const std::string query = (*golden_)[3].query;
  std::vector<std::string> docs;
  for (const GoldenPair& g : *golden_) docs.push_back(g.document);
  ScoreResponse all;
  ASSERT_TRUE(Score(Request(query, docs), &all).ok());
  ASSERT_EQ(all.scores_size(), static_cast<int>(docs.size()));
  for (size_t i = 0; i < docs.size(); i += 17) {
    ScoreResponse one;
    ASSERT_TRUE(Score(Request(query, {docs[i]}), &one).ok());
    EXPECT_NEAR(all.scores(i), one.scores(0), kBatchingTolerance)
        << "document " << i;
  }
  // The golden pair with this query sits at index 3.
  EXPECT_NEAR(all.scores(3), (*golden_)[3].logit_full, kGoldenTolerance);
}

TEST_F(ScorerE2ETest, EmptyQueryIsInvalid) {
  ExpectRejected(Request("", {"a document"}),
                 grpc::StatusCode::INVALID_ARGUMENT, "query is empty");
}

TEST_F(ScorerE2ETest, NoDocumentsIsInvalid) {
  ExpectRejected(Request("a query", {}), grpc::StatusCode::INVALID_ARGUMENT,
                 "no documents");
}

TEST_F(ScorerE2ETest, TooManyDocumentsIsInvalid) {
  std::vector<std::string> docs(1001, "doc");
  ExpectRejected(Request("a query", docs), grpc::StatusCode::INVALID_ARGUMENT,
                 "too many documents: 1001 exceeds the limit of 1000");
}

TEST_F(ScorerE2ETest, QueryOverTheByteLimitIsInvalid) {
  ExpectRejected(Request(std::string(4097, 'q'), {"doc"}),
                 grpc::StatusCode::INVALID_ARGUMENT,
                 "query is 4097 bytes, over the limit of 4096");
}

TEST_F(ScorerE2ETest, DocumentOverTheByteLimitIsInvalid) {
  ExpectRejected(Request("q", {"fine", std::string(65537, 'd')}),
                 grpc::StatusCode::INVALID_ARGUMENT,
                 "document 1 is 65537 bytes, over the limit of 65536");
}

TEST_F(ScorerE2ETest, InvalidUtf8IsInvalid) {
  ExpectRejected(Request("caf\xc3", {"doc"}),
                 grpc::StatusCode::INVALID_ARGUMENT,
                 "query is not valid UTF-8");
  ExpectRejected(Request("query", {"ok", "ok", "bad \xed\xa0\x80 surrogate"}),
                 grpc::StatusCode::INVALID_ARGUMENT,
                 "document 2 is not valid UTF-8");
}

TEST_F(ScorerE2ETest, UnknownModelIsNotFound) {
  ScoreRequest r = Request("q", {"d"});
  r.set_model("no-such-model");
  ExpectRejected(r, grpc::StatusCode::NOT_FOUND,
                 "unknown model 'no-such-model'");
}

TEST_F(ScorerE2ETest, UnknownVariantIsNotFound) {
  ScoreRequest r = Request("q", {"d"});
  r.mutable_options()->set_variant("no-such-variant");
  ExpectRejected(r, grpc::StatusCode::NOT_FOUND,
                 "unknown variant 'no-such-variant' of model 'demo'");
}

TEST_F(ScorerE2ETest, NegativeOrNanBudgetIsInvalid) {
  ScoreRequest r = Request("q", {"d"});
  r.mutable_options()->set_budget_ms(-1);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, "budget_ms");
  r.mutable_options()->set_budget_ms(std::nan(""));
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, "budget_ms");
}

TEST_F(ScorerE2ETest, TooShortBudgetEndsPromptlyWithoutScores) {
  std::vector<std::string> docs;
  for (const GoldenPair& g : *golden_) docs.push_back(g.document);
  ScoreRequest r = Request("a query", docs);
  r.mutable_options()->set_budget_ms(0.001);  // 1 microsecond
  ScoreResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = Score(r, &response);
  EXPECT_THAT(status.error_code(),
              ::testing::AnyOf(grpc::StatusCode::DEADLINE_EXCEEDED,
                               grpc::StatusCode::RESOURCE_EXHAUSTED))
      << status.error_message();
  EXPECT_FALSE(status.error_message().empty());
  EXPECT_LT(absl::Now() - start, kClientTimeout / 2) << "not a hang";
  ExpectRejected(r, status.error_code(), "");  // and the server still serves
}

TEST_F(ScorerE2ETest, TooShortGrpcDeadlineIsDeadlineExceeded) {
  const GoldenPair& g = golden_->front();
  ScoreResponse response;
  grpc::Status status =
      Score(Request(g.query, {g.document}), &response, absl::Microseconds(1));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(ScorerE2ETest, HealthIsServingOnceTheCostModelIsCalibrated) {
  // Start() returned, so health reports SERVING: the cost model is there.
  auto servable = server_->registry().Get("demo");
  ASSERT_TRUE(servable.ok()) << servable.status();
  const CostModelInfo* cost = (*servable)->cost_model();
  ASSERT_NE(cost, nullptr);
  EXPECT_GT(cost->calibration_seconds, 0);
  EXPECT_EQ(cost->clock, "thread_cpu");
  EXPECT_THAT(cost->report, HasSubstr("lat-4"));
  EXPECT_GT(MetricSum(*server_, "fastrel_cost_model_calibration_seconds",
                      {{"model", "demo"}}),
            0);
  // A held-out error gauge per variant.
  for (const VariantInfo& v : (*servable)->variants()) {
    EXPECT_GE(v.cost_p90_rel_error, 0) << v.name;
    bool exported = false;
    for (const auto& family : server_->metrics().registry()->Collect()) {
      if (family.name != "fastrel_cost_model_holdout_p90_relative_error") {
        continue;
      }
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          exported |= label.name == "variant" && label.value == v.name;
        }
      }
    }
    EXPECT_TRUE(exported) << v.name;
  }
  auto overall = CheckHealth(*channel_, "", absl::Seconds(10));
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, "SERVING");
}

TEST_F(ScorerE2ETest, PredictedVersusMeasuredCostIsExported) {
  const double before =
      MetricSum(*server_, "fastrel_cost_prediction_relative_error",
                {{"model", "demo"}, {"variant", "full"}, {"clock", "wall"}});
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    const GoldenPair& g = (*golden_)[i];
    ScoreResponse response;
    ASSERT_TRUE(Score(Request(g.query, {g.document}), &response).ok());
    EXPECT_EQ(response.variant(), "full");  // generous default budget
  }
  EXPECT_GE(
      MetricSum(*server_, "fastrel_cost_prediction_relative_error",
                {{"model", "demo"}, {"variant", "full"}, {"clock", "wall"}}),
      before + kRequests);
  EXPECT_GE(
      MetricSum(
          *server_, "fastrel_cost_prediction_relative_error",
          {{"model", "demo"}, {"variant", "full"}, {"clock", "thread_cpu"}}),
      kRequests);
  EXPECT_GT(MetricSum(*server_, "fastrel_cost_predicted_seconds_total",
                      {{"model", "demo"}, {"variant", "full"}}),
            0);
  EXPECT_GT(
      MetricSum(*server_, "fastrel_cost_measured_seconds_total",
                {{"model", "demo"}, {"variant", "full"}, {"clock", "wall"}}),
      0);
}

// A budget the full variant cannot meet (its prediction plus the scheduler's
// margin exceeds it) but a cheaper one can: the response names a cheaper
// variant. The budget comes from the server's own predictions, so the test
// holds on a fast or a slow machine.
TEST_F(ScorerE2ETest, TightBudgetRunsACheaperVariant) {
  auto servable = server_->registry().Get("demo");
  ASSERT_TRUE(servable.ok());
  ASSERT_GE((*servable)->variants().size(), 2u);
  // Golden documents up to ~2000 tokens: one batch, tens of milliseconds.
  const std::string query = (*golden_)[0].query;
  std::vector<std::string> docs;
  std::vector<int> lengths;
  int tokens = 0;
  for (const GoldenPair& g : *golden_) {
    const int n = static_cast<int>(
        (*servable)->Encode(query, g.document).input_ids.size());
    if (tokens + n > 2000) break;
    docs.push_back(g.document);
    lengths.push_back(n);
    tokens += n;
  }
  const absl::Duration full = (*servable)->PredictCost(0, lengths);
  absl::Duration cheapest = full;
  for (int v = 1; v < static_cast<int>((*servable)->variants().size()); ++v) {
    cheapest = std::min(cheapest, (*servable)->PredictCost(v, lengths));
  }
  ASSERT_GT(full, absl::ZeroDuration());
  ASSERT_LT(cheapest, full * 0.8) << "the demo's variants are not cheaper";
  // The full variant needs full * 1.2 + 0.5 ms (default margins): 1.1 x full
  // never fits, and leaves the cheapest variant room to run.
  const double budget_ms = absl::ToDoubleMilliseconds(full * 1.1);
  const double cheap_batches_before =
      MetricSum(*server_, "fastrel_batches_total", {{"model", "demo"}}) -
      MetricSum(*server_, "fastrel_batches_total",
                {{"model", "demo"}, {"variant", "full"}});
  ScoreRequest request = Request(query, docs);
  request.mutable_options()->set_budget_ms(budget_ms);
  // A stall of the shared machine before the batch starts can leave even the
  // cheapest variant no time (the pairs are then shed): retry a few times.
  // A reply with the full variant fails the test at once.
  constexpr int kAttempts = 3;
  ScoreResponse response;
  grpc::Status status;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    response.Clear();
    status = Score(request, &response);
    if (status.ok()) break;
    EXPECT_THAT(status.error_code(),
                ::testing::AnyOf(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 grpc::StatusCode::DEADLINE_EXCEEDED))
        << status.error_message();
  }
  ASSERT_TRUE(status.ok()) << status.error_message() << " (budget " << budget_ms
                           << " ms, full predicted " << full << ", cheapest "
                           << cheapest << ")";
  EXPECT_NE(response.variant(), "full");
  EXPECT_GE((*servable)->FindVariant(response.variant()), 1);
  EXPECT_EQ(response.scores_size(), static_cast<int>(docs.size()));
  EXPECT_GT(MetricSum(*server_, "fastrel_batches_total", {{"model", "demo"}}) -
                MetricSum(*server_, "fastrel_batches_total",
                          {{"model", "demo"}, {"variant", "full"}}),
            cheap_batches_before);
  // A pinned variant is not overridden by the budget.
  request.mutable_options()->set_variant("full");
  request.mutable_options()->set_budget_ms(60000);
  ScoreResponse pinned;
  ASSERT_TRUE(Score(request, &pinned).ok());
  EXPECT_EQ(pinned.variant(), "full");
}

TEST_F(ScorerE2ETest, HealthIsServing) {
  auto overall = CheckHealth(*channel_, "", absl::Seconds(10));
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_EQ(*overall, "SERVING");
  auto scorer = CheckHealth(*channel_, "fastrel.v1.Scorer", absl::Seconds(10));
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  EXPECT_EQ(*scorer, "SERVING");
  auto unknown = CheckHealth(*channel_, "no.Such", absl::Seconds(10));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ScorerE2ETest, ReflectionListsTheScorer) {
  auto services = ListServices(*channel_, absl::Seconds(10));
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::Contains("fastrel.v1.Scorer"));
  EXPECT_THAT(*services, ::testing::Contains("grpc.health.v1.Health"));
}

TEST_F(ScorerE2ETest, ConcurrentClientsAreEachAnsweredCorrectly) {
  constexpr int kThreads = 8, kRequestsPerThread = 20;
  std::atomic<int> ok{0}, wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      auto stub = fastrel::v1::Scorer::NewStub(*channel_);
      for (int i = 0; i < kRequestsPerThread; ++i) {
        // A golden pair plus 0-2 other documents; the golden one is checked.
        size_t k = (t * kRequestsPerThread + i) % golden_->size();
        const GoldenPair& g = (*golden_)[k];
        ScoreRequest r = Request(g.query, {g.document});
        for (int extra = 0; extra < i % 3; ++extra) {
          r.add_documents(
              (*golden_)[(k + extra + 1) % golden_->size()].document);
        }
        ScoreResponse response;
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + kClientTimeout));
        grpc::Status status = stub->Score(&context, r, &response);
        if (!status.ok()) {
          failed++;
        } else if (response.scores_size() != r.documents_size() ||
                   std::abs(response.scores(0) - g.logit_full) >
                       kGoldenTolerance) {
          wrong++;
        } else {
          ok++;
        }
      }
    });
  }
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load(), kThreads * kRequestsPerThread);
}

TEST_F(ScorerE2ETest, MetricsCountRequestsByCode) {
  ScoreResponse response;
  ASSERT_TRUE(Score(Request("q", {"d"}), &response).ok());
  ASSERT_FALSE(Score(Request("", {"d"}), &response).ok());
  double ok = 0, invalid = 0, batches = 0;
  for (const auto& family : server_->metrics().registry()->Collect()) {
    for (const auto& metric : family.metric) {
      std::string code;
      for (const auto& label : metric.label) {
        if (label.name == "code") code = label.value;
      }
      if (family.name == "fastrel_requests_total" && code == "OK") {
        ok += metric.counter.value;
      }
      if (family.name == "fastrel_requests_total" &&
          code == "INVALID_ARGUMENT") {
        invalid += metric.counter.value;
      }
      if (family.name == "fastrel_batches_total") {
        batches += metric.counter.value;
      }
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(invalid, 1);
  EXPECT_GE(batches, 1);
}

// Batches the server has run so far (from its metrics).
double BatchesRun(FastrelServer& server) {
  double n = 0;
  for (const auto& family : server.metrics().registry()->Collect()) {
    if (family.name != "fastrel_batches_total") continue;
    for (const auto& metric : family.metric) n += metric.counter.value;
  }
  return n;
}

// A server of its own: Shutdown lets an in-flight request finish, then the
// port is closed.
TEST(ScorerShutdownTest, InFlightRequestFinishesDuringShutdown) {
  fastrel::v1::ServerConfig config = TestConfig();
  config.mutable_workers()->set_num_workers(1);
  auto server = FastrelServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = fastrel::v1::Scorer::NewStub(channel);
  std::vector<GoldenPair> golden = fastrel::testing::LoadGoldenPairs();
  ASSERT_FALSE(golden.empty());
  ScoreRequest big;
  big.set_query(golden[0].query);
  for (const GoldenPair& g : golden) big.add_documents(g.document);
  grpc::Status status;
  ScoreResponse response;
  std::thread client([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kClientTimeout));
    status = stub->Score(&context, big, &response);
  });
  // Shut down once the request is being scored (its first batch ran; the
  // rest of its 256 pairs take far longer than the polling interval).
  const absl::Time give_up = absl::Now() + kClientTimeout;
  while (BatchesRun(**server) < 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_GE(BatchesRun(**server), 1);
  (*server)->Shutdown(absl::Seconds(30));
  client.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.scores_size(), big.documents_size());
  // After shutdown nothing listens.
  ScoreResponse after;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  ScoreRequest small;
  small.set_query("q");
  small.add_documents("d");
  EXPECT_FALSE(stub->Score(&context, small, &after).ok());
}

// Without a cost model the most accurate variant runs whatever the budget.
TEST(ScorerStartTest, WithCalibrationDisabledTheFullVariantRuns) {
  fastrel::v1::ServerConfig config = TestConfig();
  config.mutable_cost_model()->set_disable(true);
  config.mutable_workers()->set_num_workers(1);
  auto server = FastrelServer::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto servable = (*server)->registry().Get("demo");
  ASSERT_TRUE(servable.ok());
  EXPECT_EQ((*servable)->cost_model(), nullptr);
  auto stub = fastrel::v1::Scorer::NewStub(grpc::CreateChannel(
      (*server)->target(), grpc::InsecureChannelCredentials()));
  std::vector<GoldenPair> golden = fastrel::testing::LoadGoldenPairs();
  ASSERT_FALSE(golden.empty());
  ScoreRequest request;
  request.set_query(golden[0].query);
  request.add_documents(golden[0].document);
  // Tight, but long enough for tokenizing and the queue delay (2 ms): the
  // batch runs (nothing predicts it late) with the full variant.
  request.mutable_options()->set_budget_ms(20);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kClientTimeout));
  ScoreResponse response;
  grpc::Status status = stub->Score(&context, request, &response);
  if (status.ok()) {
    EXPECT_EQ(response.variant(), "full");
  } else {
    // A loaded machine may miss even 20 ms before the batch starts.
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << status.error_message();
  }
  EXPECT_EQ(MetricSum(**server, "fastrel_cost_prediction_relative_error"), 0);
  EXPECT_EQ(MetricSum(**server, "fastrel_batches_total", {{"model", "demo"}}) -
                MetricSum(**server, "fastrel_batches_total",
                          {{"model", "demo"}, {"variant", "full"}}),
            0);
}

TEST(ScorerStartTest, MissingModelDirectoryIsAClearError) {
  fastrel::v1::ServerConfig config = TestConfig();
  config.mutable_models(0)->set_path(::testing::TempDir() + "/no-such-model");
  auto server = FastrelServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("no-such-model"));
}

}  // namespace
}  // namespace fastrel::server
