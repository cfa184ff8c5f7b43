// The models the server serves, by name, with a default. For now the
// configured models are loaded once at start; Replace() is the seam for
// version polling / hot swap (a new version replaces the old one atomically;
// requests already holding the old one finish on it).
#ifndef FASTREL_SERVER_REGISTRY_MODEL_REGISTRY_H_
#define FASTREL_SERVER_REGISTRY_MODEL_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/registry/servable.h"

namespace fastrel::server {

// Thread safety: thread-safe.
class ModelRegistry {
 public:
  // Adds a servable under servable->name(). ALREADY_EXISTS when the name is
  // taken. The first servable added becomes the default.
  absl::Status Add(std::shared_ptr<const Servable> servable);

  // Replaces the servable of an existing name (hot swap seam). NOT_FOUND when
  // the name is unknown.
  absl::Status Replace(std::shared_ptr<const Servable> servable);

  // Makes `name` the default model. NOT_FOUND when unknown.
  absl::Status SetDefault(std::string_view name);

  // The servable called `name` ("" = the default). NOT_FOUND with the list of
  // served models when unknown.
  absl::StatusOr<std::shared_ptr<const Servable>> Get(
      std::string_view name) const;

  // Names of all models, sorted.
  std::vector<std::string> Names() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Servable>> models_
      ABSL_GUARDED_BY(mu_);
  std::string default_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_REGISTRY_MODEL_REGISTRY_H_
