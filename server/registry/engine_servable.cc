#include "server/registry/engine_servable.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fastrel::server {
namespace {

// One engine Workspace per distinct encoder (weights) of the model.
class EngineWorkspace : public ServableWorkspace {
 public:
  std::vector<std::pair<const Encoder*, std::unique_ptr<Workspace>>>
      per_encoder;

  Workspace* For(const Encoder& encoder) {
    for (auto& [e, ws] : per_encoder) {
      if (e == &encoder) return ws.get();
    }
    per_encoder.emplace_back(&encoder, encoder.NewWorkspace());
    return per_encoder.back().second.get();
  }
};

// Thread safety: immutable after construction.
class EngineServable : public Servable {
 public:
  EngineServable(std::string name, std::unique_ptr<Model> model,
                 const EngineServableOptions& options)
      : name_(std::move(name)), model_(std::move(model)) {
    max_seq_len_ = model_->max_seq_len();
    if (options.max_seq_len > 0) {
      max_seq_len_ = std::min(max_seq_len_, options.max_seq_len);
    }
    max_query_tokens_ = options.max_query_tokens;
    for (const Variant& v : model_->variants()) {
      variants_.push_back(VariantInfo{v.name, v.auc, v.relative_cost});
    }
  }

  const std::string& name() const override { return name_; }
  const std::string& version() const override { return model_->version(); }
  const std::vector<VariantInfo>& variants() const override {
    return variants_;
  }

  EncodedPair Encode(std::string_view query,
                     std::string_view document) const override {
    return model_->tokenizer().EncodePair(query, document, max_seq_len_,
                                          max_query_tokens_);
  }

  std::unique_ptr<ServableWorkspace> NewWorkspace() const override {
    auto ws = std::make_unique<EngineWorkspace>();
    // Create the full variant's workspace now so the first request does not
    // pay for it.
    ws->For(model_->encoder(model_->variants()[0]));
    return ws;
  }

  absl::Status Run(const PackedBatch& batch, int variant, ServableWorkspace* ws,
                   std::span<float> logits) const override {
    const Variant& v = model_->variants()[variant];
    const Encoder& encoder = model_->encoder(v);
    Workspace* engine_ws = static_cast<EngineWorkspace*>(ws)->For(encoder);
    return encoder.Forward(batch, v.length, engine_ws, logits);
  }

 private:
  const std::string name_;
  const std::unique_ptr<Model> model_;
  int max_seq_len_ = 0;
  int max_query_tokens_ = 32;
  std::vector<VariantInfo> variants_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Servable>> LoadEngineServable(
    const std::string& name, const std::string& dir,
    const EngineServableOptions& options) {
  ModelLoadOptions load_options;
  load_options.max_seq_len = options.max_seq_len;
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir, load_options);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("loading model '", name, "' from ", dir,
                                     ": ", model.status().message()));
  }
  if ((*model)->variants().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", name, "' in ", dir, " has no variants"));
  }
  return std::make_shared<EngineServable>(name, *std::move(model), options);
}

}  // namespace fastrel::server
