#include "server/config/server_config.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace fastrel::server {
namespace {

using fastrel::v1::ServerConfig;

// Collects parser errors as "source:line:column: message".
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit ErrorCollector(const std::string& source) : source_(source) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0.
    errors_.push_back(
        absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {}
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  const std::string source_;
  std::vector<std::string> errors_;
};

// Sets msg->field to `value` when it holds the proto3 default (0 / "").
#define FASTREL_DEFAULT(msg, field, value)                               \
  if ((msg)->field() == std::remove_cvref_t<decltype((msg)->field())>{}) \
  (msg)->set_##field(value)

}  // namespace

absl::StatusOr<ServerConfig> ParseServerConfig(const std::string& text,
                                               const std::string& source) {
  ServerConfig config;
  ErrorCollector errors(source);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": not a valid fastrel.v1.ServerConfig"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseServerConfig(text.str(), path);
}

void ApplyDefaults(ServerConfig* c, const std::string& default_model_dir) {
  FASTREL_DEFAULT(c, listen_address, "127.0.0.1");
  FASTREL_DEFAULT(c, port, 50051);
  if (c->models().empty()) {
    fastrel::v1::ModelConfigEntry* m = c->add_models();
    m->set_name("demo");
    m->set_path(default_model_dir);
  }
  FASTREL_DEFAULT(c, default_model, c->models(0).name());

  auto* limits = c->mutable_limits();
  FASTREL_DEFAULT(limits, max_documents, 1000);
  FASTREL_DEFAULT(limits, max_query_bytes, 4096);
  FASTREL_DEFAULT(limits, max_document_bytes, 65536);
  FASTREL_DEFAULT(limits, max_message_bytes, 16 << 20);

  auto* tokenizer = c->mutable_tokenizer();
  FASTREL_DEFAULT(tokenizer, max_query_tokens, 32);
  // max_seq_len 0 = the model's max_position_embeddings (resolved on load).

  auto* batching = c->mutable_batching();
  FASTREL_DEFAULT(batching, max_batch_tokens, 4096);
  FASTREL_DEFAULT(batching, max_queue_delay_micros, 2000);
  FASTREL_DEFAULT(batching, max_queued_items, 100000);

  auto* scheduler = c->mutable_scheduler();
  FASTREL_DEFAULT(scheduler, default_budget_ms, 50.0);
  // disable_shedding: false = shedding on.
  if (!scheduler->has_cost_margin_fraction()) {
    scheduler->set_cost_margin_fraction(0.2);
  }
  if (!scheduler->has_cost_margin_micros()) {
    scheduler->set_cost_margin_micros(500);
  }

  auto* cost = c->mutable_cost_model();
  // disable: false = calibrate.
  FASTREL_DEFAULT(cost, budget_ms, 1500.0);
  FASTREL_DEFAULT(cost, min_shapes_per_variant, 8);
  FASTREL_DEFAULT(cost, max_batch_tokens, 1024);
  FASTREL_DEFAULT(cost, max_sequences, 32);
  FASTREL_DEFAULT(cost, reps_per_shape, 1);
  FASTREL_DEFAULT(cost, seed, 1);

  // workers.num_workers 0 = one per available CPU (resolved by WorkerPool);
  // workers.disable_pinning false = pinning on.
  // metrics_port 0 = metrics off.
  FASTREL_DEFAULT(c, shutdown_grace_seconds, 20.0);
}

absl::Status ValidateServerConfig(const ServerConfig& c) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", what));
  };
  if (c.port() < 0 || c.port() > 65535) {
    return bad(absl::StrCat("port ", c.port(), " is out of range"));
  }
  if (c.metrics_port() < 0 || c.metrics_port() > 65535) {
    return bad(
        absl::StrCat("metrics_port ", c.metrics_port(), " is out of range"));
  }
  absl::flat_hash_set<std::string> names;
  for (const auto& m : c.models()) {
    if (m.name().empty()) return bad("models.name must not be empty");
    if (m.path().empty()) {
      return bad(absl::StrCat("models.path of '", m.name(), "' is empty"));
    }
    if (!names.insert(m.name()).second) {
      return bad(absl::StrCat("model '", m.name(), "' is configured twice"));
    }
  }
  if (!names.contains(c.default_model())) {
    return bad(absl::StrCat("default_model '", c.default_model(),
                            "' is not among the configured models"));
  }
  const auto& l = c.limits();
  if (l.max_documents() < 0 || l.max_query_bytes() < 0 ||
      l.max_document_bytes() < 0 || l.max_message_bytes() < 0) {
    return bad("limits must be positive");
  }
  if (c.tokenizer().max_query_tokens() < 0 || c.tokenizer().max_seq_len() < 0) {
    return bad("tokenizer limits must be positive");
  }
  if (c.tokenizer().max_seq_len() != 0 && c.tokenizer().max_seq_len() < 3) {
    return bad("tokenizer.max_seq_len must be at least 3");
  }
  const auto& b = c.batching();
  if (b.max_batch_tokens() < 0 || b.max_queue_delay_micros() < 0 ||
      b.max_queued_items() < 0) {
    return bad("batching values must be positive");
  }
  if (!(c.scheduler().default_budget_ms() > 0) ||
      !std::isfinite(c.scheduler().default_budget_ms())) {
    return bad("scheduler.default_budget_ms must be a positive number");
  }
  const auto& sc = c.scheduler();
  if (!(sc.cost_margin_fraction() >= 0) ||
      !std::isfinite(sc.cost_margin_fraction()) ||
      !(sc.cost_margin_micros() >= 0) ||
      !std::isfinite(sc.cost_margin_micros())) {
    return bad(
        "scheduler.cost_margin_fraction and cost_margin_micros must be "
        "non-negative numbers");
  }
  const auto& cm = c.cost_model();
  if (!(cm.budget_ms() >= 0) || !std::isfinite(cm.budget_ms())) {
    return bad("cost_model.budget_ms must be a non-negative number");
  }
  if (cm.min_shapes_per_variant() < 0 || cm.max_batch_tokens() < 0 ||
      cm.max_sequences() < 0 || cm.reps_per_shape() < 0) {
    return bad("cost_model values must be positive");
  }
  if (!cm.disable() && cm.min_shapes_per_variant() != 0 &&
      cm.min_shapes_per_variant() < 4) {
    return bad(
        "cost_model.min_shapes_per_variant must be at least 4 (3 fitted "
        "coefficients and one held-out shape)");
  }
  if (c.workers().num_workers() < 0) {
    return bad("workers.num_workers must not be negative");
  }
  if (!(c.shutdown_grace_seconds() >= 0) ||
      !std::isfinite(c.shutdown_grace_seconds())) {
    return bad("shutdown_grace_seconds must be a non-negative number");
  }
  return absl::OkStatus();
}

std::string BundledModelDir() {
  std::error_code ec;
  std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path dir =
        exe.parent_path().parent_path().parent_path() / "models" / "demo";
    if (std::filesystem::exists(dir / "config.json", ec)) {
      return dir.lexically_normal().string();
    }
  }
  return FASTREL_BUNDLED_MODEL_DIR;
}

}  // namespace fastrel::server
