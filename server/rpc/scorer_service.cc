#include "server/rpc/scorer_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/batching/pending_request.h"
#include "server/rpc/deadline.h"
#include "server/rpc/score_request_wire.pb.h"
#include "server/rpc/status_util.h"
#include "server/rpc/validate.h"

namespace fastrel::server {
namespace {

using fastrel::v1::ScoreResponse;

// Ends a call exactly once (through the PendingRequest guard) and frees itself
// when gRPC is done with the call.
class ScoreReactor : public grpc::ServerUnaryReactor {
 public:
  void set_pending(const std::shared_ptr<PendingRequest>& pending) {
    pending_ = pending;
  }
  void OnCancel() override {
    if (std::shared_ptr<PendingRequest> p = pending_.lock()) {
      p->Fail(absl::CancelledError("the client cancelled the request"));
    }
  }
  void OnDone() override { delete this; }

 private:
  std::weak_ptr<PendingRequest> pending_;
};

absl::Time GrpcDeadline(const grpc::CallbackServerContext& context) {
  std::chrono::system_clock::time_point tp = context.deadline();
  if (tp == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(tp);
}

std::string VariantNames(const Servable& servable) {
  std::vector<std::string> names;
  for (const VariantInfo& v : servable.variants()) names.push_back(v.name);
  return absl::StrJoin(names, ", ");
}

}  // namespace

ScorerService::ScorerService(const ScorerServiceOptions& options,
                             const ModelRegistry* registry, Batcher* batcher,
                             Clock* clock, ServerMetrics* metrics)
    : options_(options),
      registry_(registry),
      batcher_(batcher),
      clock_(clock),
      metrics_(metrics) {}

grpc::ServerUnaryReactor* ScorerService::Score(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  const absl::Time receipt = clock_->Now();
  auto* reactor = new ScoreReactor();

  // Ends the call right here with an error (nothing was queued).
  auto reject = [&](const absl::Status& status, const std::string& model) {
    if (metrics_ != nullptr) {
      metrics_->RecordRequest(model, absl::StatusCodeToString(status.code()),
                              clock_->Now() - receipt);
    }
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  };

  if (draining_.load(std::memory_order_acquire)) {
    return reject(absl::UnavailableError("server is shutting down"), "");
  }
  wire::ScoreRequestWire parsed;
  {
    grpc::ByteBuffer copy(*raw_request);  // shares the slices
    if (!grpc::SerializationTraits<wire::ScoreRequestWire>::Deserialize(&copy,
                                                                        &parsed)
             .ok()) {
      return reject(absl::InvalidArgumentError(
                        "malformed request: not a fastrel.v1.ScoreRequest"),
                    "");
    }
  }
  const wire::ScoreRequestWire* request = &parsed;
  if (absl::Status s = ValidateScoreRequest(*request, options_.limits);
      !s.ok()) {
    return reject(s, "");
  }
  absl::StatusOr<std::shared_ptr<const Servable>> found =
      registry_->Get(request->model());
  if (!found.ok()) return reject(found.status(), "");
  std::shared_ptr<const Servable> servable = *std::move(found);
  int pinned = -1;
  if (!request->options().variant().empty()) {
    pinned = servable->FindVariant(request->options().variant());
    if (pinned < 0) {
      return reject(
          absl::NotFoundError(absl::StrCat(
              "unknown variant '", request->options().variant(), "' of model '",
              servable->name(), "'; variants: ", VariantNames(*servable))),
          servable->name());
    }
  }
  const absl::Time deadline =
      RequestDeadline(receipt, GrpcDeadline(*context),
                      request->options().budget_ms(), options_.default_budget);

  // Tokenize on the request path.
  const int n = request->documents_size();
  std::vector<WorkItem> items(n);
  std::vector<int32_t> token_counts;
  const bool want_counts = request->options().return_token_counts();
  for (int i = 0; i < n; ++i) {
    WorkItem& item = items[i];
    item.index = i;
    item.pair = servable->Encode(request->query(), request->documents(i));
    item.pinned_variant = pinned;
    item.deadline = deadline;
    if (want_counts) token_counts.push_back(item.num_tokens());
  }
  const absl::Time tokenized = clock_->Now();
  if (tokenized >= deadline) {
    return reject(absl::DeadlineExceededError(absl::StrCat(
                      "deadline passed while tokenizing (budget ",
                      absl::FormatDuration(deadline - receipt), ")")),
                  servable->name());
  }

  auto pending = std::make_shared<PendingRequest>(
      n, deadline,
      [this, reactor, raw_response, servable, receipt,
       tokenize = tokenized - receipt,
       token_counts = std::move(token_counts)](RequestResult result) mutable {
        const absl::Time now = clock_->Now();
        if (result.status.ok()) {
          ScoreResponse r;
          ScoreResponse* response = &r;
          response->mutable_scores()->Assign(result.scores.begin(),
                                             result.scores.end());
          response->set_model(servable->name());
          response->set_model_version(servable->version());
          response->set_variant(servable->variants()[result.variant].name);
          auto* t = response->mutable_timings();
          t->set_total_us(absl::ToInt64Microseconds(now - receipt));
          t->set_tokenize_us(absl::ToInt64Microseconds(tokenize));
          t->set_queue_us(absl::ToInt64Microseconds(result.queue));
          t->set_compute_us(absl::ToInt64Microseconds(result.compute));
          response->mutable_token_counts()->Assign(token_counts.begin(),
                                                   token_counts.end());
          bool own_buffer = false;
          grpc::Status serialized =
              grpc::SerializationTraits<ScoreResponse>::Serialize(
                  r, raw_response, &own_buffer);
          if (!serialized.ok()) {
            result.status = absl::InternalError(absl::StrCat(
                "cannot serialize the response: ", serialized.error_message()));
          }
        }
        if (metrics_ != nullptr) {
          metrics_->RecordRequest(
              servable->name(), absl::StatusCodeToString(result.status.code()),
              now - receipt);
          if (result.status.ok()) {
            metrics_->RecordQueueWait(servable->name(), result.queue);
          }
        }
        reactor->Finish(ToGrpcStatus(result.status));
      });
  reactor->set_pending(pending);
  for (WorkItem& item : items) item.request = pending;

  absl::Status queued = batcher_->Enqueue(servable, items);
  if (!queued.ok()) {
    if (metrics_ != nullptr &&
        queued.code() == absl::StatusCode::kResourceExhausted) {
      metrics_->RecordShed(servable->name(), "queue_full", n);
    }
    items.clear();  // Drop the item references before failing.
    pending->Fail(queued);
  }
  return reactor;
}

}  // namespace fastrel::server
