// fastrel-server: the scoring daemon.
//
//   fastrel-server [--model_dir DIR] [--port N] [--listen ADDR]
//                  [--config FILE] [--metrics_port N] [--num_workers N]
//
// Flags override the config file; everything else comes from --config
// (fastrel.v1.ServerConfig in text format; see config/fastrel.textproto).
// SIGTERM/SIGINT drain the server and exit 0.
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "server/config/server_config.h"
#include "server/server.h"

ABSL_FLAG(
    std::string, config, "",
    "Server config file (fastrel.v1.ServerConfig, protobuf text format).");
ABSL_FLAG(std::string, model_dir, "",
          "Serve the model in this directory (instead of the config's models; "
          "default: the bundled models/demo).");
ABSL_FLAG(int, port, -1, "gRPC port (default 50051; 0 = pick a free port).");
ABSL_FLAG(std::string, listen, "", "Address to listen on (default 127.0.0.1).");
ABSL_FLAG(int, metrics_port, -1,
          "Port for Prometheus /metrics over HTTP (default 0 = off).");
ABSL_FLAG(int, num_workers, -1,
          "Inference worker threads (default 0 = one per available core).");

namespace {

using fastrel::v1::ServerConfig;

int Fail(const std::string& message) {
  std::fprintf(stderr, "fastrel-server: %s\n", message.c_str());
  return 1;
}

// The directory's base name, used as the model name for --model_dir.
std::string BaseName(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  size_t slash = dir.rfind('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Scores (query, document) relevance over gRPC (fastrel.v1.Scorer).\n"
      "Usage: fastrel-server [--model_dir DIR] [--port N] [--listen ADDR] "
      "[--config FILE] [--metrics_port N] [--num_workers N]");
  absl::ParseCommandLine(argc, argv);

  // Block the shutdown signals before any thread starts so that every thread
  // inherits the mask and only sigwait below receives them: no work ever
  // happens in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServerConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<ServerConfig> loaded =
        fastrel::server::LoadServerConfigFile(path);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    config = *std::move(loaded);
  }
  if (std::string dir = absl::GetFlag(FLAGS_model_dir); !dir.empty()) {
    config.clear_models();
    auto* m = config.add_models();
    m->set_name(BaseName(dir));
    m->set_path(dir);
    config.set_default_model(m->name());
  }
  if (int port = absl::GetFlag(FLAGS_port); port >= 0) config.set_port(port);
  if (std::string listen = absl::GetFlag(FLAGS_listen); !listen.empty()) {
    config.set_listen_address(listen);
  }
  if (int p = absl::GetFlag(FLAGS_metrics_port); p >= 0) {
    config.set_metrics_port(p);
  }
  if (int n = absl::GetFlag(FLAGS_num_workers); n >= 0) {
    config.mutable_workers()->set_num_workers(n);
  }
  const bool port_zero = config.port() == 0 && absl::GetFlag(FLAGS_port) == 0;
  fastrel::server::ApplyDefaults(&config, fastrel::server::BundledModelDir());
  if (port_zero) config.set_port(0);  // An explicit --port 0: pick one.

  absl::StatusOr<std::unique_ptr<fastrel::server::FastrelServer>> server =
      fastrel::server::FastrelServer::Start(config);
  if (!server.ok()) return Fail(std::string(server.status().message()));

  std::string models;
  for (const auto& m : config.models()) {
    absl::StrAppend(&models, models.empty() ? "" : ", ", m.name(), " (",
                    m.path(), ")");
  }
  std::printf(
      "fastrel-server: serving on %s with %d workers; models: %s%s\n",
      (*server)->target().c_str(), (*server)->num_workers(), models.c_str(),
      config.metrics_port() != 0
          ? absl::StrCat("; metrics on port ", config.metrics_port()).c_str()
          : "");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("fastrel-server: %s received, draining (grace %.1f s)\n",
              sig == SIGTERM ? "SIGTERM" : "SIGINT",
              config.shutdown_grace_seconds());
  std::fflush(stdout);
  (*server)->Shutdown(absl::Seconds(config.shutdown_grace_seconds()));
  server->reset();
  std::printf("fastrel-server: stopped\n");
  return 0;
}
