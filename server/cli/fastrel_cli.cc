// fastrel-cli: a command-line client of fastrel-server.
//
//   fastrel-cli score --query Q --doc D [--doc D ...] [--target HOST:PORT]
//                     [--model M] [--variant V] [--budget_ms B]
//                     [--token_counts] [--json]
//   fastrel-cli health [--target HOST:PORT] [--service NAME]
//   fastrel-cli services [--target HOST:PORT]
//
// score prints one "INDEX<TAB>SCORE" line per document (request order), or
// the whole ScoreResponse as JSON with --json. Errors print the gRPC status
// and exit 1; usage errors exit 2.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fastrel/v1/scorer.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "server/client/grpc_clients.h"

namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  fastrel-cli score --query Q --doc D [--doc D ...] [--target HOST:PORT]\n"
    "                    [--model M] [--variant V] [--budget_ms B]\n"
    "                    [--token_counts] [--json]\n"
    "  fastrel-cli health [--target HOST:PORT] [--service NAME]\n"
    "  fastrel-cli services [--target HOST:PORT]\n"
    "default target: 127.0.0.1:50051\n";

// Seconds the CLI waits for a reply when the request sets no budget.
constexpr absl::Duration kRpcTimeout = absl::Seconds(30);

struct Args {
  std::string command;
  std::string target = "127.0.0.1:50051";
  std::string query;
  bool has_query = false;
  std::vector<std::string> docs;
  std::string model;
  std::string variant;
  std::string service;
  double budget_ms = 0;
  bool json = false;
  bool token_counts = false;
};

int Usage(const std::string& problem) {
  std::fprintf(stderr, "fastrel-cli: %s\n%s", problem.c_str(), kUsage);
  return 2;
}

// Parses "--name value" and "--name=value" options. Returns "" or a problem.
std::string Parse(int argc, char** argv, Args* args) {
  if (argc < 2) return "missing command";
  args->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--")
      return absl::StrCat("unexpected ", std::string(arg));
    arg.remove_prefix(2);
    std::string name(arg);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "json") {
      args->json = true;
      continue;
    }
    if (name == "token_counts") {
      args->token_counts = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) return absl::StrCat("--", name, " needs a value");
      value = argv[++i];
    }
    if (name == "query") {
      args->query = value;
      args->has_query = true;
    } else if (name == "doc") {
      args->docs.push_back(value);
    } else if (name == "target") {
      args->target = value;
    } else if (name == "model") {
      args->model = value;
    } else if (name == "variant") {
      args->variant = value;
    } else if (name == "service") {
      args->service = value;
    } else if (name == "budget_ms") {
      if (!absl::SimpleAtod(value, &args->budget_ms)) {
        return absl::StrCat("--budget_ms: not a number: ", value);
      }
    } else {
      return absl::StrCat("unknown option --", name);
    }
  }
  return "";
}

int Score(const Args& args) {
  if (!args.has_query) return Usage("score needs --query");
  if (args.docs.empty()) return Usage("score needs at least one --doc");
  auto channel =
      grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
  auto stub = fastrel::v1::Scorer::NewStub(channel);
  fastrel::v1::ScoreRequest request;
  request.set_query(args.query);
  for (const std::string& d : args.docs) request.add_documents(d);
  request.set_model(args.model);
  request.mutable_options()->set_variant(args.variant);
  request.mutable_options()->set_budget_ms(args.budget_ms);
  request.mutable_options()->set_return_token_counts(args.token_counts);
  fastrel::v1::ScoreResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
  grpc::Status status = stub->Score(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "fastrel-cli: %s: %s\n",
                 absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(status.error_code()))
                     .c_str(),
                 status.error_message().c_str());
    return 1;
  }
  if (args.json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(response, &out, options)
             .ok()) {
      std::fprintf(stderr, "fastrel-cli: cannot print the response as JSON\n");
      return 1;
    }
    std::printf("%s\n", out.c_str());
    return 0;
  }
  for (int i = 0; i < response.scores_size(); ++i) {
    if (args.token_counts && i < response.token_counts_size()) {
      std::printf("%d\t%.6f\t%d\n", i, response.scores(i),
                  response.token_counts(i));
    } else {
      std::printf("%d\t%.6f\n", i, response.scores(i));
    }
  }
  return 0;
}

int Health(const Args& args) {
  auto channel =
      grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
  absl::StatusOr<std::string> status =
      fastrel::server::CheckHealth(channel, args.service, absl::Seconds(10));
  if (!status.ok()) {
    std::fprintf(stderr, "fastrel-cli: %s\n",
                 status.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", status->c_str());
  return *status == "SERVING" ? 0 : 1;
}

int Services(const Args& args) {
  auto channel =
      grpc::CreateChannel(args.target, grpc::InsecureChannelCredentials());
  absl::StatusOr<std::vector<std::string>> names =
      fastrel::server::ListServices(channel, absl::Seconds(10));
  if (!names.ok()) {
    std::fprintf(stderr, "fastrel-cli: %s\n",
                 names.status().ToString().c_str());
    return 1;
  }
  for (const std::string& n : *names) std::printf("%s\n", n.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (std::string problem = Parse(argc, argv, &args); !problem.empty()) {
    return Usage(problem);
  }
  if (args.command == "score") return Score(args);
  if (args.command == "health") return Health(args);
  if (args.command == "services") return Services(args);
  if (args.command == "help" || args.command == "--help") {
    std::printf("%s", kUsage);
    return 0;
  }
  return Usage(absl::StrCat("unknown command ", args.command));
}
