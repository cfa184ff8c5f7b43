// Process-level test of the built binaries: starts build/bin/fastrel-server
// on a free port, scores a golden pair with build/bin/fastrel-cli, checks
// health, then sends SIGTERM and expects exit code 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/golden_pairs.h"

namespace {

using ::testing::HasSubstr;

// fastrel-cli prints scores with 6 decimals; the engine matches the
// reference within 1e-4 (see scorer_e2e_test.cc).
constexpr double kGoldenTolerance = 1e-4;

std::string Bin(const std::string& name) {
  return std::string(FASTREL_BINARY_DIR) + "/bin/" + name;
}

// Runs `argv` to completion; returns its exit code (-1 on failure to run)
// and its stdout+stderr in `output`.
int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) output->append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A running fastrel-server child process.
class ServerProcess {
 public:
  // Starts the server with `args`; its stdout is read through a pipe.
  bool Start(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<std::string> argv = {Bin("fastrel-server")};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> c;
      for (const std::string& a : argv)
        c.push_back(const_cast<char*>(a.c_str()));
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    return out_ != nullptr;
  }

  // Reads stdout lines until one contains `marker`; returns it ("" on EOF).
  std::string WaitForLine(const std::string& marker) {
    char line[4096];
    while (fgets(line, sizeof(line), out_) != nullptr) {
      std::string s(line);
      if (s.find(marker) != std::string::npos) return s;
    }
    return "";
  }

  // Sends `sig` and waits up to `timeout` for the exit code (-1 on timeout
  // or abnormal exit, after which the process is killed).
  int Stop(int sig, absl::Duration timeout) {
    kill(pid_, sig);
    const absl::Time end = absl::Now() + timeout;
    int status = 0;
    while (absl::Now() < end) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ != nullptr) fclose(out_);
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

TEST(ProcessTest, CliScoresAGoldenPairAndSigtermExitsZero) {
  std::vector<fastrel::testing::GoldenPair> golden =
      fastrel::testing::LoadGoldenPairs();
  ASSERT_FALSE(golden.empty()) << fastrel::testing::GoldenPairsPath();
  const auto& g = golden[1];

  ServerProcess server;
  ASSERT_TRUE(server.Start({"--port=0", "--num_workers=1"}));
  // "fastrel-server: serving on 127.0.0.1:PORT with ..."
  std::string line = server.WaitForLine("serving on ");
  ASSERT_FALSE(line.empty()) << "server did not start";
  std::string target = line.substr(line.find("serving on ") + 11);
  target = target.substr(0, target.find(' '));

  std::string out;
  ASSERT_EQ(RunCommand({Bin("fastrel-cli"), "score", "--target", target,
                        "--query", g.query, "--doc", g.document},
                       &out),
            0)
      << out;
  // "0<TAB>SCORE"
  std::vector<std::string> fields =
      absl::StrSplit(out, absl::ByAnyChar("\t\n"), absl::SkipEmpty());
  ASSERT_EQ(fields.size(), 2u) << out;
  EXPECT_EQ(fields[0], "0");
  double score = 0;
  ASSERT_TRUE(absl::SimpleAtod(fields[1], &score)) << out;
  EXPECT_NEAR(score, g.logit_full, kGoldenTolerance);

  out.clear();
  EXPECT_EQ(
      RunCommand({Bin("fastrel-cli"), "health", "--target", target}, &out), 0);
  EXPECT_THAT(out, HasSubstr("SERVING"));

  out.clear();
  EXPECT_EQ(RunCommand({Bin("fastrel-cli"), "score", "--target", target,
                        "--query", "", "--doc", "d"},
                       &out),
            1);
  EXPECT_THAT(out, HasSubstr("INVALID_ARGUMENT: query is empty"));

  EXPECT_EQ(server.Stop(SIGTERM, absl::Seconds(60)), 0);
}

// A port that was free a moment ago (bound to port 0, then released).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// GET http://127.0.0.1:PORT/PATH; returns the raw HTTP response ("" on
// failure).
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request = "GET " + path +
                          " HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                          "Connection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

TEST(ProcessTest, MetricsEndpointServesPrometheusText) {
  const int metrics_port = FreePort();
  ASSERT_GT(metrics_port, 0);
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--port=0", "--num_workers=1",
                            "--metrics_port=" + std::to_string(metrics_port)}));
  std::string line = server.WaitForLine("serving on ");
  ASSERT_FALSE(line.empty()) << "server did not start";
  std::string target = line.substr(line.find("serving on ") + 11);
  target = target.substr(0, target.find(' '));
  std::string out;
  ASSERT_EQ(RunCommand({Bin("fastrel-cli"), "score", "--target", target,
                        "--query", "tunnel tcp", "--doc", "a tcp tunnel"},
                       &out),
            0)
      << out;
  std::string metrics = HttpGet(metrics_port, "/metrics");
  EXPECT_THAT(metrics, HasSubstr("200 OK"));
  EXPECT_THAT(
      metrics,
      HasSubstr("fastrel_requests_total{code=\"OK\",model=\"demo\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("fastrel_batch_tokens_bucket"));
  EXPECT_EQ(server.Stop(SIGTERM, absl::Seconds(60)), 0);
}

TEST(ProcessTest, SigintAlsoExitsZero) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--port=0", "--num_workers=1"}));
  ASSERT_FALSE(server.WaitForLine("serving on ").empty());
  EXPECT_EQ(server.Stop(SIGINT, absl::Seconds(60)), 0);
}

TEST(ProcessTest, BadConfigFileFailsWithFileAndLine) {
  std::string path = ::testing::TempDir() + "/process_test_bad.textproto";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("port: 1\nbogus_field: 2\n", f);
  fclose(f);
  std::string out;
  EXPECT_EQ(RunCommand({Bin("fastrel-server"), "--config", path}, &out), 1);
  EXPECT_THAT(out, HasSubstr(path + ":2:"));
  std::remove(path.c_str());
}

}  // namespace
