#include "server/registry/servable.h"

namespace fastrel::server {

int Servable::FindVariant(std::string_view name) const {
  const std::vector<VariantInfo>& all = variants();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace fastrel::server
