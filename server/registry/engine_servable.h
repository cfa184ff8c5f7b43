// The Servable backed by the engine: a fastrel::Model loaded from a directory.
#ifndef FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_
#define FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "server/registry/servable.h"

namespace fastrel::server {

struct EngineServableOptions {
  // Cap on sequence length; 0 = the model's max_position_embeddings.
  int max_seq_len = 0;
  // The query is cut to this many tokens first.
  int max_query_tokens = 32;
};

// Loads the model in `dir` and serves it as `name`. Errors are the engine's
// load errors (naming the file), prefixed with the model name.
absl::StatusOr<std::shared_ptr<const Servable>> LoadEngineServable(
    const std::string& name, const std::string& dir,
    const EngineServableOptions& options);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_REGISTRY_ENGINE_SERVABLE_H_
