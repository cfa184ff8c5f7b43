// fastrel-loadtest: open/closed-loop load generator for fastrel.v1.Scorer.
// See loadtest/README.md for the command-line reference and the design.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "loadtest/options.h"
#include "loadtest/report.h"
#include "loadtest/request_source.h"
#include "loadtest/runner.h"
#include "loadtest/svg_plot.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address HOST:PORT.");
ABSL_FLAG(double, rate, 0,
          "Open loop: requests per second (constant or Poisson arrivals).");
ABSL_FLAG(int, concurrency, 0, "Closed loop: requests kept in flight.");
ABSL_FLAG(double, duration, 0,
          "Measured seconds per run (0 = 10 s; with --profile, the profile "
          "sets the length).");
ABSL_FLAG(double, warmup, 1,
          "Warm-up seconds before each run's measurement (excluded).");
ABSL_FLAG(std::string, arrival, "poisson",
          "Open-loop inter-arrival times: poisson or constant.");
ABSL_FLAG(uint64_t, seed, 1,
          "Seed for Poisson gaps and request choice (runs are reproducible).");
ABSL_FLAG(
    std::string, sweep, "",
    "START:STOP:STEP: open-loop runs at each rate; reports the highest rate "
    "whose p99 "
    "stays within --slo_p99_ms and error rate within --slo_max_error_rate.");
ABSL_FLAG(double, slo_p99_ms, 0,
          "p99 latency SLO for --sweep (0 = --budget_ms).");
ABSL_FLAG(double, slo_max_error_rate, 0.01,
          "Error fraction allowed by the SLO in a sweep.");
ABSL_FLAG(int, sweep_stop_after, 2,
          "Stop a sweep after this many consecutive rates missing the SLO (0 = "
          "run all).");
ABSL_FLAG(std::string, profile, "",
          "Step profile relative to --rate: FACTORxDURATION,... e.g. "
          "0.5x10s,2x10s,0.5x10s.");
ABSL_FLAG(std::string, docs, "10",
          "Documents per request: N, or MIN:MAX drawn uniformly.");
ABSL_FLAG(double, budget_ms, 50,
          "options.budget_ms sent with each request (0 = server default).");
ABSL_FLAG(double, deadline_ms, -1,
          "Goodput deadline from the intended send time (-1 = --budget_ms; 0 = "
          "none).");
ABSL_FLAG(double, timeout_ms, 0,
          "gRPC deadline per request (0 = budget_ms + 1000).");
ABSL_FLAG(double, drain_s, -1,
          "Max seconds to wait for replies after the last send (-1 = timeout + "
          "0.5 s); "
          "requests still unanswered count as DRAIN_TIMEOUT errors.");
ABSL_FLAG(std::string, variant, "", "Pin a model variant (options.variant).");
ABSL_FLAG(std::string, model, "", "Model name (empty = the server's default).");
ABSL_FLAG(std::string, data, "../shared/data/dev.tsv",
          "TSV with a header naming 'query' and 'document' columns (dev.tsv "
          "layout).");
ABSL_FLAG(std::string, synthetic, "",
          "QUERY_TOKENS:DOC_TOKENS: synthetic text of about these token "
          "lengths instead of "
          "--data.");
ABSL_FLAG(int, channels, 1,
          "Client channels (separate TCP connections), used round robin.");
ABSL_FLAG(int64_t, max_inflight, 10000,
          "Requests outstanding beyond this fail on the client "
          "(CLIENT_MAX_INFLIGHT).");
ABSL_FLAG(int, pool, 1024, "Distinct pre-built requests, reused round robin.");
ABSL_FLAG(bool, token_counts, false,
          "Ask for token counts (reports mean tokens per pair).");
ABSL_FLAG(std::string, json, "", "Write a JSON summary to this file.");
ABSL_FLAG(std::string, csv, "",
          "Write a CSV (one row per run / sweep rate) to this file.");
ABSL_FLAG(std::string, timeseries_csv, "",
          "Write the per-second series (single run) as CSV.");
ABSL_FLAG(std::string, plot, "",
          "Write an SVG chart: latency and goodput vs offered load (sweep) or "
          "the per-second "
          "time series (single run / profile).");

namespace fastrel::loadtest {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed =
    1;  // nothing succeeded, or an output could not be written
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

// Set by the first SIGINT/SIGTERM: the current run stops and reports what it
// measured. A second signal kills the process (default action restored).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnSignal(int sig) {
  g_stop.store(true, std::memory_order_relaxed);
  signal(sig, SIG_DFL);
}

// Ends the process once every output is written, without destroying the
// gRPC channels or running gRPC's teardown: Debian's gRPC 1.51 sometimes
// crashes a callback-CQ thread (in grpc_completion_queue_next) while a
// process that used the callback API destroys its channels, and a load
// tester must not turn a finished run into SIGSEGV.
[[noreturn]] void ExitWithoutTeardown(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

Flags ReadFlags() {
  Flags f;
  f.target = absl::GetFlag(FLAGS_target);
  f.rate = absl::GetFlag(FLAGS_rate);
  f.concurrency = absl::GetFlag(FLAGS_concurrency);
  f.duration = absl::GetFlag(FLAGS_duration);
  f.warmup = absl::GetFlag(FLAGS_warmup);
  f.arrival = absl::GetFlag(FLAGS_arrival);
  f.seed = absl::GetFlag(FLAGS_seed);
  f.sweep = absl::GetFlag(FLAGS_sweep);
  f.slo_p99_ms = absl::GetFlag(FLAGS_slo_p99_ms);
  f.slo_max_error_rate = absl::GetFlag(FLAGS_slo_max_error_rate);
  f.sweep_stop_after = absl::GetFlag(FLAGS_sweep_stop_after);
  f.profile = absl::GetFlag(FLAGS_profile);
  f.docs = absl::GetFlag(FLAGS_docs);
  f.budget_ms = absl::GetFlag(FLAGS_budget_ms);
  f.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  f.timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  f.drain_s = absl::GetFlag(FLAGS_drain_s);
  f.variant = absl::GetFlag(FLAGS_variant);
  f.model = absl::GetFlag(FLAGS_model);
  f.data = absl::GetFlag(FLAGS_data);
  f.synthetic = absl::GetFlag(FLAGS_synthetic);
  f.channels = absl::GetFlag(FLAGS_channels);
  f.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  f.pool = absl::GetFlag(FLAGS_pool);
  f.token_counts = absl::GetFlag(FLAGS_token_counts);
  return f;
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) {
    std::cerr << "fastrel-loadtest: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

int Main(const Flags& flags) {
  absl::StatusOr<Plan> plan_or = Validate(flags);
  if (!plan_or.ok()) {
    std::cerr << "fastrel-loadtest: " << plan_or.status().message()
              << "\n(run with --help for the flags)\n";
    return kExitUsage;
  }
  const Plan& plan = *plan_or;

  absl::StatusOr<Corpus> corpus =
      plan.synthetic_query_tokens > 0
          ? SyntheticCorpus(plan.synthetic_query_tokens,
                            plan.synthetic_doc_tokens, 64, 64, flags.seed)
          : LoadTsv(flags.data);
  if (!corpus.ok()) {
    std::cerr << "fastrel-loadtest: " << corpus.status().message()
              << (plan.synthetic_query_tokens > 0
                      ? ""
                      : "\n(use --data FILE or --synthetic Q:D)")
              << "\n";
    return kExitUsage;
  }
  RequestPoolOptions pool_options;
  // Cap the pool at about kMaxPooledDocs documents so huge --docs values do
  // not exhaust memory; requests are reused round robin anyway.
  constexpr int kMaxPooledDocs = 100000;
  pool_options.pool_size =
      std::min(flags.pool, std::max(16, kMaxPooledDocs / plan.docs.max));
  pool_options.docs = plan.docs;
  pool_options.model = flags.model;
  pool_options.budget_ms = flags.budget_ms;
  pool_options.variant = flags.variant;
  pool_options.return_token_counts = flags.token_counts;
  pool_options.seed = flags.seed;
  const RequestPool pool(*corpus, pool_options);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < flags.channels; ++i) {
    grpc::ChannelArguments args;
    // A private subchannel pool gives each channel its own TCP connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("fastrel.loadtest.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(
        plan.target, grpc::InsecureChannelCredentials(), args));
  }
  Runner runner(channels, &pool);

  RunOptions run;
  run.arrival = plan.arrival;
  run.warmup = plan.warmup;
  run.timeout = plan.timeout;
  run.drain = plan.drain;
  run.deadline_ms = plan.deadline_ms;
  run.max_inflight = flags.max_inflight;
  run.seed = flags.seed;
  run.stop = &g_stop;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  std::vector<RunResult> runs;
  nlohmann::json json;
  std::string svg;
  double best_rps = 0;
  std::cerr << absl::StrFormat(
      "fastrel-loadtest: target %s, %zu distinct requests, docs %d..%d, "
      "budget %.1f ms, timeout %.0f ms\n",
      plan.target, pool.size(), plan.docs.min, plan.docs.max, flags.budget_ms,
      absl::ToDoubleMilliseconds(plan.timeout));
  if (plan.mode == Plan::Mode::kSweep) {
    int misses = 0;
    const RunResult* best = nullptr;
    const std::vector<double> rates = plan.sweep.Rates();
    for (size_t i = 0; i < rates.size(); ++i) {
      run.segments = {{rates[i], plan.duration}};
      run.seed = flags.seed + i;
      runs.push_back(runner.Run(run));
      const bool meets =
          MeetsSlo(runs.back(), plan.slo_p99_ms, plan.slo_max_error_rate);
      std::cout << FormatSweepLine(runs.back(), meets) << std::endl;
      for (const std::string& w : SelfCheckWarnings(runs.back())) {
        std::cout << "  WARNING: " << w << std::endl;
      }
      if (runs.back().interrupted) {
        std::cout << "sweep interrupted" << std::endl;
        break;
      }
      misses = meets ? 0 : misses + 1;
      if (plan.sweep_stop_after > 0 && misses >= plan.sweep_stop_after &&
          i + 1 < rates.size()) {
        std::cout << "stopping the sweep: " << misses
                  << " consecutive rates missed the SLO" << std::endl;
        break;
      }
    }
    // The capacity is the highest rate such that it and every lower rate met
    // the SLO: on a noisy machine a pass after a miss is luck, not capacity.
    bool missed = false;
    for (const RunResult& r : runs) {
      const bool meets = MeetsSlo(r, plan.slo_p99_ms, plan.slo_max_error_rate);
      if (meets && !missed) {
        best = &r;
        best_rps = r.offered_rps;
      } else if (meets) {
        std::cout << absl::StrFormat(
            "note: %.1f req/s met the SLO after a lower rate missed it; the "
            "measurements are "
            "noisy (the capacity reported is the last rate before the first "
            "miss)\n",
            r.offered_rps);
      }
      missed |= !meets;
    }
    if (best != nullptr) {
      std::cout << absl::StrFormat(
                       "highest rate meeting the SLO (p99 <= %.1f ms, errors "
                       "<= %.2f%%): %.1f "
                       "req/s\n",
                       plan.slo_p99_ms, 100 * plan.slo_max_error_rate, best_rps)
                << FormatSummary(*best);
    } else {
      std::cout << absl::StrFormat(
          "no rate met the SLO (p99 <= %.1f ms, errors <= %.2f%%)\n",
          plan.slo_p99_ms, 100 * plan.slo_max_error_rate);
    }
    // Top-level figures are those of the best run (or the first run).
    json = RunToJson(best != nullptr ? *best : runs.front(), false);
    json["mode"] = "sweep";
    json["slo_p99_ms"] = plan.slo_p99_ms;
    json["slo_max_error_rate"] = plan.slo_max_error_rate;
    json["max_rate_meeting_slo"] = best_rps;
    json["runs"] = nlohmann::json::array();
    for (const RunResult& r : runs) json["runs"].push_back(RunToJson(r, false));
    svg = SweepSvg(
        runs, plan.slo_p99_ms, best_rps,
        absl::StrFormat(
            "fastrel capacity sweep: %s, docs %d..%d, budget %.0f ms",
            plan.target, plan.docs.min, plan.docs.max, flags.budget_ms));
  } else {
    if (plan.mode == Plan::Mode::kClosedLoop) {
      run.concurrency = plan.concurrency;
      run.duration = plan.duration;
    } else {
      run.segments = plan.segments;
    }
    runs.push_back(runner.Run(run));
    std::cout << FormatSummary(runs.back());
    json = RunToJson(runs.back(), true);
    if (plan.has_profile) json["profile"] = flags.profile;
    svg = TimeSeriesSvg(
        runs.back(),
        plan.mode == Plan::Mode::kClosedLoop
            ? absl::StrFormat(
                  "fastrel load test: closed loop, concurrency %d, docs %d..%d",
                  plan.concurrency, plan.docs.min, plan.docs.max)
            : absl::StrFormat(
                  "fastrel load test: %s%.0f req/s %s, docs %d..%d",
                  plan.has_profile ? "profile " + flags.profile + " of " : "",
                  flags.rate, flags.arrival, plan.docs.min, plan.docs.max));
  }
  json["target"] = plan.target;
  json["docs"] = flags.docs;
  json["budget_ms"] = flags.budget_ms;
  json["arrival"] = flags.arrival;
  json["seed"] = flags.seed;

  bool wrote = true;
  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) wrote &= WriteFile(json_path, json.dump(2) + "\n");
  const std::string csv_path = absl::GetFlag(FLAGS_csv);
  if (!csv_path.empty()) {
    wrote &= WriteFile(
        csv_path, RunsToCsv(runs, plan.slo_p99_ms, plan.slo_max_error_rate));
  }
  const std::string series_path = absl::GetFlag(FLAGS_timeseries_csv);
  if (!series_path.empty())
    wrote &= WriteFile(series_path, SeriesToCsv(runs.back()));
  const std::string plot_path = absl::GetFlag(FLAGS_plot);
  if (!plot_path.empty()) wrote &= WriteFile(plot_path, svg);

  uint64_t ok = 0;
  for (const RunResult& r : runs) ok += r.ok;
  int code = wrote ? kExitOk : kExitFailed;
  if (g_stop.load()) {
    std::cerr << "fastrel-loadtest: interrupted; the summary covers what ran\n";
    code = kExitInterrupted;
  } else if (ok == 0) {
    std::cerr << "fastrel-loadtest: no request succeeded (target "
              << plan.target << ")\n";
    code = kExitFailed;
  }
  ExitWithoutTeardown(code);
}

}  // namespace
}  // namespace fastrel::loadtest

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for fastrel.v1.Scorer.\n"
      "  open loop:   fastrel-loadtest --target 127.0.0.1:50051 --rate 100 "
      "--duration 10\n"
      "  closed loop: fastrel-loadtest --concurrency 8 --duration 10\n"
      "  sweep:       fastrel-loadtest --sweep 20:200:20 --slo_p99_ms 50 --csv "
      "s.csv --plot s.svg\n"
      "  step:        fastrel-loadtest --rate 100 --profile "
      "0.5x10s,2x10s,0.5x10s --plot p.svg");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "fastrel-loadtest: unexpected argument '" << rest[1] << "'\n";
    return 2;
  }
  return fastrel::loadtest::Main(fastrel::loadtest::ReadFlags());
}
