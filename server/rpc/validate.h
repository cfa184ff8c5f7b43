// Validation of ScoreRequest fields that need no model (sizes, UTF-8,
// options). Model and variant names are resolved by the handler.
#ifndef FASTREL_SERVER_RPC_VALIDATE_H_
#define FASTREL_SERVER_RPC_VALIDATE_H_

#include "absl/status/status.h"
#include "fastrel/v1/config.pb.h"
#include "server/rpc/score_request_wire.pb.h"

namespace fastrel::server {

// OK, or INVALID_ARGUMENT saying what is wrong: empty query, no documents,
// more documents than limits.max_documents, query or a document over its
// byte limit, invalid UTF-8 in the query or a document (naming its index),
// budget_ms negative or not a number, model or variant name not valid UTF-8.
// `limits` has defaults applied.
absl::Status ValidateScoreRequest(const wire::ScoreRequestWire& request,
                                  const fastrel::v1::LimitsConfig& limits);

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_RPC_VALIDATE_H_
