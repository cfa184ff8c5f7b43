// Runs the real fastrel-loadtest binary against the real fastrel-server on
// loopback (and against a closed port) and checks its accounting.
//
// The server tests skip when fastrel-server is not part of the build
// (FASTREL_SERVER_BIN is empty).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// How long the daemon may take to load, warm up and calibrate the demo model.
constexpr auto kServerStartTimeout = std::chrono::seconds(60);
// Slack on top of warm-up + duration + drain for process start-up, channel
// set-up and JSON writing on a loaded 2-core machine.
constexpr double kEndMarginS = 2.0;

// A child process with its stdout+stderr going to `log_path`.
struct Child {
  pid_t pid = -1;
  std::string log_path;
};

Child Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  // Remove any old log first: the parent polls it and must never see a
  // previous run's contents.
  unlink(log_path.c_str());
  Child child{-1, log_path};
  child.pid = fork();
  if (child.pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return child;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits up to `limit` for the child; kills it after that. Returns the exit
// code, or nullopt when it had to be killed.
std::optional<int> Wait(const Child& child,
                        std::chrono::duration<double> limit) {
  const Clock::time_point end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
  int status = 0;
  while (Clock::now() < end) {
    if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child.pid, SIGKILL);
  waitpid(child.pid, &status, 0);
  return std::nullopt;
}

// A port nothing listens on (bound then released; nobody else should grab
// it within the test's few seconds).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The real daemon on an ephemeral loopback port with the bundled model.
class Daemon {
 public:
  explicit Daemon(const std::string& dir) {
    child_ = Spawn(
        {FASTREL_SERVER_BIN, "--model_dir=" FASTREL_SOURCE_DIR "/models/demo",
         "--listen=127.0.0.1", "--port=0"},
        dir + "/server.log");
    // The daemon prints "serving on HOST:PORT" once it takes traffic.
    const Clock::time_point end = Clock::now() + kServerStartTimeout;
    while (Clock::now() < end) {
      const std::string log = ReadFile(child_.log_path);
      const size_t at = log.find("serving on ");
      if (at != std::string::npos) {
        const size_t start = at + 11;
        const size_t stop = log.find_first_of(" \n", start);
        if (stop != std::string::npos) {
          target_ = log.substr(start, stop - start);
          return;
        }
      }
      int status = 0;
      if (waitpid(child_.pid, &status, WNOHANG) == child_.pid) {
        child_.pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "fastrel-server did not start; its output:\n"
                  << ReadFile(child_.log_path);
  }
  ~Daemon() { Kill(SIGTERM); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void Kill(int sig) {
    if (child_.pid <= 0) return;
    kill(child_.pid, sig);
    if (!Wait(child_, std::chrono::seconds(10)).has_value())
      ADD_FAILURE() << "server hung";
    child_.pid = -1;
  }
  const std::string& target() const { return target_; }

 private:
  Child child_;
  std::string target_;
};

struct LoadtestRun {
  std::optional<int> exit_code;
  double wall_s = 0;
  nlohmann::json json;
  std::string output;
};

LoadtestRun RunLoadtest(const std::string& dir, std::vector<std::string> args,
                        double limit_s) {
  const std::string json_path = dir + "/summary.json";
  std::remove(json_path.c_str());
  std::vector<std::string> argv = {FASTREL_LOADTEST_BIN, "--json=" + json_path};
  argv.insert(argv.end(), args.begin(), args.end());
  const Clock::time_point start = Clock::now();
  Child child = Spawn(argv, dir + "/loadtest.log");
  LoadtestRun run;
  // Give a hung client twice the limit before killing it, so the time check
  // below reports the overrun instead of a kill.
  run.exit_code = Wait(child, std::chrono::duration<double>(2 * limit_s));
  run.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  run.output = ReadFile(child.log_path);
  const std::string text = ReadFile(json_path);
  run.json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return run;
}

std::string FreshDir(const std::string& name) {
  static int counter = 0;  // distinct directories under --gtest_repeat
  std::string dir = ::testing::TempDir() + "/loadtest_it_" + name + "_" +
                    std::to_string(getpid()) + "_" + std::to_string(counter++);
  mkdir(dir.c_str(), 0755);
  return dir;
}

std::string DataFlag() {
  const std::string tsv = FASTREL_SHARED_DIR "/data/dev.tsv";
  return access(tsv.c_str(), R_OK) == 0 ? "--data=" + tsv : "--synthetic=8:60";
}

// The invariants every summary must satisfy.
void ExpectConsistentAccounting(const nlohmann::json& j) {
  const uint64_t sent = j["sent"], ok = j["ok"], errors = j["errors"];
  EXPECT_EQ(sent, ok + errors);
  uint64_t by_status = 0;
  for (const auto& [name, count] : j["errors_by_status"].items())
    by_status += count.get<uint64_t>();
  EXPECT_EQ(by_status, errors);
  EXPECT_LE(j["goodput_docs_per_s"].get<double>(),
            j["throughput_docs_per_s"].get<double>());
  EXPECT_LE(j["p50_ms"].get<double>(), j["p90_ms"].get<double>());
  EXPECT_LE(j["p90_ms"].get<double>(), j["p99_ms"].get<double>());
  EXPECT_LE(j["p99_ms"].get<double>(), j["p999_ms"].get<double>());
  EXPECT_LE(j["p999_ms"].get<double>(), j["max_ms"].get<double>());
  EXPECT_LE(j["min_ms"].get<double>(), j["p50_ms"].get<double>());
}

TEST(LoadtestIntegrationTest, AccountingAgainstTheDaemon) {
  if (std::string(FASTREL_SERVER_BIN).empty())
    GTEST_SKIP() << "fastrel-server is not built";
  const std::string dir = FreshDir("daemon");
  Daemon daemon(dir);
  ASSERT_FALSE(daemon.target().empty());
  // 20 req/s of 4 documents for 3 s after 0.5 s of warm-up; a generous budget
  // because this checks accounting, not speed, on a shared machine.
  constexpr double kWarmupS = 0.5, kDurationS = 3, kRate = 20,
                   kTimeoutMs = 2000;
  LoadtestRun run = RunLoadtest(
      dir,
      {"--target=" + daemon.target(), "--rate=20", "--duration=3",
       "--warmup=0.5", "--docs=4", "--budget_ms=500", "--timeout_ms=2000",
       DataFlag(), "--plot=" + dir + "/run.svg"},
      kWarmupS + kDurationS + kTimeoutMs / 1000 + 0.5 + kEndMarginS);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_FALSE(run.json.is_discarded()) << run.output;
  const nlohmann::json& j = run.json;
  ExpectConsistentAccounting(j);
  // Poisson arrivals: 60 expected, standard deviation ~7.7; +-4 sigma.
  const uint64_t sent = j["sent"];
  EXPECT_GE(sent, 30u) << run.output;
  EXPECT_LE(sent, 90u) << run.output;
  EXPECT_GT(j["ok"].get<uint64_t>(), 0u) << run.output;
  EXPECT_EQ(j["docs_sent"].get<uint64_t>(), 4 * sent);
  EXPECT_DOUBLE_EQ(j["throughput_docs_per_s"].get<double>(),
                   4 * j["throughput_rps"].get<double>());
  EXPECT_GT(j["p50_ms"].get<double>(), 0);
  EXPECT_FALSE(j["model"].get<std::string>().empty());
  uint64_t variant_total = 0;
  for (const auto& [name, count] : j["variants"].items())
    variant_total += count.get<uint64_t>();
  EXPECT_EQ(variant_total, j["ok"].get<uint64_t>());
  EXPECT_GE(j["series"].size(), 3u);
  EXPECT_NE(ReadFile(dir + "/run.svg").find("</svg>"), std::string::npos);
  (void)kRate;
}

TEST(LoadtestIntegrationTest, ServerGoingAwayMidRunEndsOnTime) {
  if (std::string(FASTREL_SERVER_BIN).empty())
    GTEST_SKIP() << "fastrel-server is not built";
  const std::string dir = FreshDir("dies");
  Daemon daemon(dir);
  ASSERT_FALSE(daemon.target().empty());
  std::thread killer([&daemon] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    daemon.Kill(SIGKILL);
  });
  LoadtestRun run = RunLoadtest(
      dir,
      {"--target=" + daemon.target(), "--rate=20", "--duration=3", "--warmup=0",
       "--docs=2", "--budget_ms=500", "--timeout_ms=1000", DataFlag()},
      3 + 1 + 0.5 + kEndMarginS);
  killer.join();
  ASSERT_TRUE(run.exit_code.has_value()) << "loadtest hung:\n" << run.output;
  EXPECT_LE(run.wall_s, 3 + 1 + 0.5 + kEndMarginS) << run.output;
  ASSERT_FALSE(run.json.is_discarded()) << run.output;
  ExpectConsistentAccounting(run.json);
  EXPECT_GT(run.json["errors"].get<uint64_t>(), 0u) << run.output;
  EXPECT_NE(run.output.find("errors"), std::string::npos);
}

TEST(LoadtestIntegrationTest,
     ClosedPortCountsEveryRequestAsErrorAndEndsOnTime) {
  const std::string dir = FreshDir("closed");
  constexpr double kDurationS = 2, kTimeoutS = 0.5, kDrainS = 0.5;
  LoadtestRun run =
      RunLoadtest(dir,
                  {"--target=127.0.0.1:" + std::to_string(ClosedPort()),
                   "--rate=20", "--duration=2", "--warmup=0", "--docs=4",
                   "--timeout_ms=500", "--drain_s=0.5", DataFlag()},
                  kDurationS + kTimeoutS + kDrainS + kEndMarginS);
  ASSERT_TRUE(run.exit_code.has_value()) << "loadtest hung:\n" << run.output;
  EXPECT_EQ(*run.exit_code, 1)
      << "nothing succeeded, so the exit code must say so\n"
      << run.output;
  EXPECT_LE(run.wall_s, kDurationS + kTimeoutS + kDrainS + kEndMarginS);
  ASSERT_FALSE(run.json.is_discarded()) << run.output;
  const nlohmann::json& j = run.json;
  EXPECT_GT(j["sent"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["errors"], j["sent"]);
  EXPECT_EQ(j["ok"], 0);
  EXPECT_EQ(j["errors_by_status"]["UNAVAILABLE"], j["sent"]) << j.dump(2);
  EXPECT_NE(run.output.find("UNAVAILABLE"), std::string::npos) << run.output;
  ExpectConsistentAccounting(j);
}

TEST(LoadtestIntegrationTest, UsageErrorsExitWithTwo) {
  const std::string dir = FreshDir("usage");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--rate=-3"},
        {"--rate=inf"},
        {"--sweep=50:10:5"},
        {"--rate=10", "--data=" + dir + "/missing.tsv"},
        {"--target=nonsense", "--rate=1"}}) {
    LoadtestRun run = RunLoadtest(dir, args, 5);
    ASSERT_TRUE(run.exit_code.has_value());
    EXPECT_EQ(*run.exit_code, 2) << args[0] << "\n" << run.output;
    EXPECT_NE(run.output.find("fastrel-loadtest: "), std::string::npos)
        << run.output;
  }
}

}  // namespace
