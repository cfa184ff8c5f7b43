// A fake engine for the server's unit tests: tokenizes by whitespace and
// scores a sequence deterministically from its token ids, optionally slowly
// or with an error. The only fake besides FakeClock (see helper rules).
#ifndef FASTREL_SERVER_TESTING_FAKE_SERVABLE_H_
#define FASTREL_SERVER_TESTING_FAKE_SERVABLE_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/registry/servable.h"

namespace fastrel::server::testing {

// Thread safety: thread-safe (knobs are atomics).
class FakeServable : public Servable {
 public:
  explicit FakeServable(std::string name = "fake",
                        std::vector<std::string> variant_names = {"full",
                                                                  "fast"})
      : name_(std::move(name)) {
    for (std::string& v : variant_names) {
      variants_.push_back(VariantInfo{std::move(v), 0, 0});
    }
  }

  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  const std::vector<VariantInfo>& variants() const override {
    return variants_;
  }

  // [CLS]=1, one token per whitespace-separated word (id = word length + 10),
  // [SEP]=2 after the query and after the document.
  EncodedPair Encode(std::string_view query,
                     std::string_view document) const override {
    EncodedPair p;
    p.input_ids.push_back(1);
    for (absl::string_view w :
         absl::StrSplit(absl::string_view(query.data(), query.size()), ' ',
                        absl::SkipEmpty())) {
      p.input_ids.push_back(static_cast<int32_t>(w.size()) + 10);
    }
    p.input_ids.push_back(2);
    p.token_type_ids.assign(p.input_ids.size(), 0);
    for (absl::string_view w :
         absl::StrSplit(absl::string_view(document.data(), document.size()),
                        ' ', absl::SkipEmpty())) {
      p.input_ids.push_back(static_cast<int32_t>(w.size()) + 10);
    }
    p.input_ids.push_back(2);
    p.token_type_ids.resize(p.input_ids.size(), 1);
    return p;
  }

  std::unique_ptr<ServableWorkspace> NewWorkspace() const override {
    workspaces_created.fetch_add(1);
    return std::make_unique<ServableWorkspace>();
  }

  absl::Status Run(const PackedBatch& batch, int variant, ServableWorkspace* ws,
                   std::span<float> logits) const override {
    batches_run.fetch_add(1);
    if (absl::Duration d = absl::Microseconds(run_delay_micros.load());
        d > absl::ZeroDuration()) {
      absl::SleepFor(d);
    }
    if (fail_runs.load()) return absl::InternalError("fake engine failure");
    for (int s = 0; s < batch.num_sequences(); ++s) {
      logits[s] =
          ScoreOf(std::span<const int32_t>(
              batch.input_ids.data() + batch.offsets[s], batch.length(s))) +
          variant * 1000.0f;
    }
    return absl::OkStatus();
  }

  // With cost_micros_per_token > 0 the fake has a "cost model": variant v
  // costs cost_micros_per_token / (v + 1) per token.
  const CostModelInfo* cost_model() const override {
    return cost_micros_per_token.load() > 0 ? &cost_model_info_ : nullptr;
  }

  absl::Duration PredictCost(int variant,
                             std::span<const int> lengths) const override {
    // Cost of the variant in micros per token, set by tests (0 = unknown).
    int64_t num_tokens = 0;
    for (int n : lengths) num_tokens += n;
    return absl::Microseconds(cost_micros_per_token.load() * num_tokens /
                              (variant + 1));
  }

  // The score Run gives a sequence with variant 0.
  static float ScoreOf(std::span<const int32_t> ids) {
    float s = 0;
    for (int32_t id : ids) s += static_cast<float>(id);
    return s / 100.0f;
  }
  float ExpectedScore(std::string_view query, std::string_view doc,
                      int variant = 0) const {
    EncodedPair p = Encode(query, doc);
    return ScoreOf(p.input_ids) + variant * 1000.0f;
  }

  // Knobs and counters.
  mutable std::atomic<int64_t> run_delay_micros{0};
  mutable std::atomic<bool> fail_runs{false};
  mutable std::atomic<int64_t> cost_micros_per_token{0};
  mutable std::atomic<int> batches_run{0};
  mutable std::atomic<int> workspaces_created{0};

 private:
  std::string name_;
  std::string version_ = "fake-1";
  std::vector<VariantInfo> variants_;
  CostModelInfo cost_model_info_{0.0, "fake", "fake cost model"};
};

}  // namespace fastrel::server::testing

#endif  // FASTREL_SERVER_TESTING_FAKE_SERVABLE_H_
