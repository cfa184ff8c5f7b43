#include "server/registry/model_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fastrel::server {

absl::Status ModelRegistry::Add(std::shared_ptr<const Servable> servable) {
  absl::MutexLock lock(&mu_);
  const std::string& name = servable->name();
  if (models_.contains(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("model '", name, "' is configured twice"));
  }
  if (models_.empty()) default_ = name;
  models_.emplace(name, std::move(servable));
  return absl::OkStatus();
}

absl::Status ModelRegistry::Replace(std::shared_ptr<const Servable> servable) {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(servable->name());
  if (it == models_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unknown model '", servable->name(), "'"));
  }
  it->second = std::move(servable);
  return absl::OkStatus();
}

absl::Status ModelRegistry::SetDefault(std::string_view name) {
  absl::MutexLock lock(&mu_);
  if (!models_.contains(std::string(name))) {
    return absl::NotFoundError(absl::StrCat(
        "default model '", std::string(name), "' is not configured"));
  }
  default_ = std::string(name);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Servable>> ModelRegistry::Get(
    std::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(name.empty() ? default_ : std::string(name));
  if (it != models_.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, s] : models_) names.push_back(n);
  std::sort(names.begin(), names.end());
  return absl::NotFoundError(
      absl::StrCat("unknown model '", std::string(name),
                   "'; serving: ", absl::StrJoin(names, ", ")));
}

std::vector<std::string> ModelRegistry::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [n, s] : models_) names.push_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace fastrel::server
