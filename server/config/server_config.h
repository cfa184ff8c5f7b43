// Server configuration: reading fastrel.v1.ServerConfig from protobuf text
// format and filling in defaults (the one place that knows them).
#ifndef FASTREL_SERVER_CONFIG_SERVER_CONFIG_H_
#define FASTREL_SERVER_CONFIG_SERVER_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fastrel/v1/config.pb.h"

namespace fastrel::server {

// Parses a ServerConfig from text format. `source` names the text in error
// messages, which read "SOURCE:LINE:COLUMN: problem" (INVALID_ARGUMENT).
absl::StatusOr<fastrel::v1::ServerConfig> ParseServerConfig(
    const std::string& text, const std::string& source);

// Reads and parses the file at `path` (NOT_FOUND when it cannot be read).
absl::StatusOr<fastrel::v1::ServerConfig> LoadServerConfigFile(
    const std::string& path);

// Replaces every absent/zero field with its documented default (see
// proto/fastrel/v1/config.proto). With no models configured, serves
// `default_model_dir` under the name "demo". Idempotent.
void ApplyDefaults(fastrel::v1::ServerConfig* config,
                   const std::string& default_model_dir);

// Checks a config after ApplyDefaults: positive limits, ports in range,
// model names unique and non-empty, default_model among them.
// INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateServerConfig(const fastrel::v1::ServerConfig& config);

// The bundled demo model directory: <dir of the executable>/../../models/demo
// when that exists (build/bin/fastrel-server in a checkout), else the source
// tree's models/demo (compile definition).
std::string BundledModelDir();

}  // namespace fastrel::server

#endif  // FASTREL_SERVER_CONFIG_SERVER_CONFIG_H_
