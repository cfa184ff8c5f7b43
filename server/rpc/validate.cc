#include "server/rpc/validate.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/tokenizer.h"

namespace fastrel::server {

absl::Status ValidateScoreRequest(const wire::ScoreRequestWire& request,
                                  const fastrel::v1::LimitsConfig& limits) {
  if (request.query().empty()) {
    return absl::InvalidArgumentError("query is empty");
  }
  if (request.documents().empty()) {
    return absl::InvalidArgumentError("no documents: send at least one");
  }
  if (request.documents_size() > limits.max_documents()) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many documents: ", request.documents_size(),
                     " exceeds the limit of ", limits.max_documents(),
                     " (limits.max_documents)"));
  }
  if (request.query().size() > static_cast<size_t>(limits.max_query_bytes())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query is ", request.query().size(), " bytes, over the limit of ",
        limits.max_query_bytes(), " (limits.max_query_bytes)"));
  }
  if (!IsValidUtf8(request.query())) {
    return absl::InvalidArgumentError("query is not valid UTF-8");
  }
  for (int i = 0; i < request.documents_size(); ++i) {
    const std::string& doc = request.documents(i);
    if (doc.size() > static_cast<size_t>(limits.max_document_bytes())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "document ", i, " is ", doc.size(), " bytes, over the limit of ",
          limits.max_document_bytes(), " (limits.max_document_bytes)"));
    }
    if (!IsValidUtf8(doc)) {
      return absl::InvalidArgumentError(
          absl::StrCat("document ", i, " is not valid UTF-8"));
    }
  }
  if (!IsValidUtf8(request.model())) {
    return absl::InvalidArgumentError("model name is not valid UTF-8");
  }
  if (!IsValidUtf8(request.options().variant())) {
    return absl::InvalidArgumentError("options.variant is not valid UTF-8");
  }
  const double budget = request.options().budget_ms();
  if (std::isnan(budget) || budget < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.budget_ms must be >= 0 (0 = default), got ", budget));
  }
  return absl::OkStatus();
}

}  // namespace fastrel::server
