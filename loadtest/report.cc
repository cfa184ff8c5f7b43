#include "loadtest/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fastrel::loadtest {

namespace {
double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }
}  // namespace

std::vector<std::string> SelfCheckWarnings(const RunResult& r,
                                           const SelfCheck& check) {
  std::vector<std::string> warnings;
  const Derived d = Derive(r);
  if (d.lag_p99_ms > check.max_lag_p99_ms &&
      d.lag_p99_ms > check.max_lag_fraction_of_p50 * d.p50_ms) {
    warnings.push_back(absl::StrFormat(
        "client send lag p99 %.2f ms (max %.2f ms): the client fell behind its "
        "schedule, so "
        "the client, not only the server, adds to the measured latency",
        d.lag_p99_ms, d.lag_max_ms));
  }
  if (r.mode == "open" && r.send_overrun_ms > 100) {
    warnings.push_back(
        absl::StrFormat("the last scheduled request went out %.0f ms late: the "
                        "client could not sustain the "
                        "offered rate",
                        r.send_overrun_ms));
  }
  if (d.client_cpu_cores > check.max_client_cores) {
    warnings.push_back(
        absl::StrFormat("the client used %.2f CPU cores; on a shared machine "
                        "it competes with the server",
                        d.client_cpu_cores));
  }
  if (r.unsent > 0) {
    warnings.push_back(absl::StrFormat(
        "the client fell more than 1 s behind its schedule and did not send %d "
        "scheduled "
        "requests: this run does not measure the server at the offered rate",
        r.unsent));
  }
  if (r.hit_max_inflight) {
    warnings.push_back(
        "--max_inflight was reached: requests were failed by the client");
  }
  return warnings;
}

bool MeetsSlo(const RunResult& r, double slo_p99_ms, double max_error_rate) {
  const Derived d = Derive(r);
  return r.ok > 0 && d.p99_ms <= slo_p99_ms && d.error_rate <= max_error_rate;
}

std::string FormatSummary(const RunResult& r) {
  const Derived d = Derive(r);
  std::string out;
  if (r.mode == "open") {
    absl::StrAppendFormat(&out, "open loop, offered %.1f req/s", r.offered_rps);
  } else {
    absl::StrAppendFormat(&out, "closed loop, concurrency %d", r.concurrency);
  }
  if (r.interrupted) absl::StrAppend(&out, " [INTERRUPTED]");
  absl::StrAppendFormat(
      &out, ", window %.1f s (+%.1f s warm-up, excluded), elapsed %.2f s\n",
      r.window_s, r.warmup_s, r.elapsed_s);
  absl::StrAppendFormat(
      &out, "  requests: sent %d (%.1f/s)  ok %d  errors %d (%.2f%%)\n", r.sent,
      d.sent_rps, r.ok, r.errors, 100 * d.error_rate);
  for (const auto& [name, count] : r.errors_by_status) {
    auto example = r.error_examples.find(name);
    absl::StrAppendFormat(
        &out, "    %-20s %8d  e.g. \"%s\"\n", name, count,
        example == r.error_examples.end() ? "" : example->second);
  }
  if (r.ok > 0) {
    absl::StrAppendFormat(
        &out,
        "  latency from intended send (ok): p50 %.2f  p90 %.2f  p99 %.2f  "
        "p99.9 %.2f  max %.2f  mean %.2f ms\n",
        d.p50_ms, d.p90_ms, d.p99_ms, d.p999_ms, d.max_ms, d.mean_ms);
  } else {
    absl::StrAppend(&out, "  latency: no successful replies\n");
  }
  if (r.errors > 0) {
    absl::StrAppendFormat(
        &out,
        "  failed requests ended after: p50 %.2f  p99 %.2f  max %.2f ms\n",
        Ms(r.error_latency_us.ValueAtPercentile(50)),
        Ms(r.error_latency_us.ValueAtPercentile(99)),
        Ms(r.error_latency_us.max()));
  }
  absl::StrAppendFormat(&out, "  throughput: %.1f req/s  %.1f docs/s\n",
                        d.throughput_rps, d.throughput_docs_per_s);
  if (r.deadline_ms > 0) {
    absl::StrAppendFormat(
        &out,
        "  goodput (ok within %.1f ms): %.1f docs/s (%d of %d requests)\n",
        r.deadline_ms, d.goodput_docs_per_s, r.good_requests, r.sent);
  } else {
    absl::StrAppendFormat(&out, "  goodput (no deadline set): %.1f docs/s\n",
                          d.goodput_docs_per_s);
  }
  if (r.ok > 0) {
    absl::StrAppendFormat(
        &out,
        "  server timings (mean / p99 us): total %.0f / %d  queue %.0f / %d  "
        "compute %.0f / %d  tokenize %.0f / %d\n",
        r.server_total_us.mean(), r.server_total_us.ValueAtPercentile(99),
        r.server_queue_us.mean(), r.server_queue_us.ValueAtPercentile(99),
        r.server_compute_us.mean(), r.server_compute_us.ValueAtPercentile(99),
        r.server_tokenize_us.mean(),
        r.server_tokenize_us.ValueAtPercentile(99));
    std::vector<std::string> mix;
    for (const auto& [variant, count] : r.variants) {
      mix.push_back(absl::StrFormat(
          "%s %.1f%%", variant,
          100.0 * static_cast<double>(count) / static_cast<double>(r.ok)));
    }
    absl::StrAppendFormat(&out, "  model %s version %s; variant mix: %s\n",
                          r.model, r.model_version, absl::StrJoin(mix, ", "));
    if (r.token_count_docs > 0) {
      absl::StrAppendFormat(&out, "  mean tokens per pair: %.1f\n",
                            static_cast<double>(r.token_count_sum) /
                                static_cast<double>(r.token_count_docs));
    }
  }
  absl::StrAppendFormat(
      &out, "  client: send lag p99 %.3f ms max %.3f ms, cpu %.2f cores\n",
      d.lag_p99_ms, d.lag_max_ms, d.client_cpu_cores);
  for (const std::string& w : SelfCheckWarnings(r))
    absl::StrAppend(&out, "  WARNING: ", w, "\n");
  return out;
}

std::string FormatSweepLine(const RunResult& r, bool meets_slo) {
  const Derived d = Derive(r);
  return absl::StrFormat(
      "rate %8.1f  sent %6d ok %6d err %5d  p50 %7.2f p90 %7.2f p99 %7.2f ms  "
      "tput %7.1f rps "
      "goodput %8.1f docs/s  lag p99 %.2f ms  %s",
      r.offered_rps, r.sent, r.ok, r.errors, d.p50_ms, d.p90_ms, d.p99_ms,
      d.throughput_rps, d.goodput_docs_per_s, d.lag_p99_ms,
      meets_slo ? "SLO ok" : "SLO missed");
}

nlohmann::json RunToJson(const RunResult& r, bool with_series) {
  const Derived d = Derive(r);
  nlohmann::json j;
  j["mode"] = r.mode;
  j["interrupted"] = r.interrupted;
  if (r.mode == "open") j["offered_rps"] = r.offered_rps;
  if (r.mode == "closed") j["concurrency"] = r.concurrency;
  j["warmup_s"] = r.warmup_s;
  j["window_s"] = r.window_s;
  j["elapsed_s"] = r.elapsed_s;
  j["sent"] = r.sent;
  j["sent_rps"] = d.sent_rps;
  j["unsent"] = r.unsent;
  j["ok"] = r.ok;
  j["errors"] = r.errors;
  j["error_rate"] = d.error_rate;
  j["errors_by_status"] = r.errors_by_status;
  j["error_examples"] = r.error_examples;
  j["p50_ms"] = d.p50_ms;
  j["p90_ms"] = d.p90_ms;
  j["p99_ms"] = d.p99_ms;
  j["p999_ms"] = d.p999_ms;
  j["max_ms"] = d.max_ms;
  j["min_ms"] = d.min_ms;
  j["mean_ms"] = d.mean_ms;
  nlohmann::json spectrum = nlohmann::json::object();
  for (double p : {25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    spectrum[absl::StrFormat("%g", p)] = Ms(r.latency_us.ValueAtPercentile(p));
  }
  j["latency_percentiles_ms"] = spectrum;
  j["throughput_rps"] = d.throughput_rps;
  j["throughput_docs_per_s"] = d.throughput_docs_per_s;
  j["goodput_docs_per_s"] = d.goodput_docs_per_s;
  j["goodput_deadline_ms"] = r.deadline_ms;
  j["good_requests"] = r.good_requests;
  j["docs_sent"] = r.docs_sent;
  j["docs_ok"] = r.docs_ok;
  j["model"] = r.model;
  j["model_version"] = r.model_version;
  j["variants"] = r.variants;
  auto timing = [](const Histogram& h) {
    return nlohmann::json{{"mean_us", h.mean()},
                          {"p50_us", h.ValueAtPercentile(50)},
                          {"p99_us", h.ValueAtPercentile(99)}};
  };
  j["server_timings"] = {{"total", timing(r.server_total_us)},
                         {"queue", timing(r.server_queue_us)},
                         {"compute", timing(r.server_compute_us)},
                         {"tokenize", timing(r.server_tokenize_us)}};
  if (r.token_count_docs > 0) {
    j["mean_tokens_per_pair"] = static_cast<double>(r.token_count_sum) /
                                static_cast<double>(r.token_count_docs);
  }
  j["client"] = {{"send_lag_p99_ms", d.lag_p99_ms},
                 {"send_lag_max_ms", d.lag_max_ms},
                 {"send_overrun_ms", r.send_overrun_ms},
                 {"cpu_cores", d.client_cpu_cores},
                 {"warnings", SelfCheckWarnings(r)}};
  if (with_series) {
    nlohmann::json series = nlohmann::json::array();
    for (size_t s = 0; s < r.series.size(); ++s) {
      const SecondStats& sec = r.series[s];
      series.push_back({{"t_s", s},
                        {"warmup", static_cast<double>(s) < r.warmup_s},
                        {"offered", sec.offered},
                        {"ok", sec.ok},
                        {"errors", sec.errors},
                        {"docs_ok", sec.docs_ok},
                        {"good_docs", sec.good_docs},
                        {"p50_ms", Ms(sec.latency_us.ValueAtPercentile(50))},
                        {"p99_ms", Ms(sec.latency_us.ValueAtPercentile(99))}});
    }
    j["series"] = series;
  }
  return j;
}

std::string RunsToCsv(const std::vector<RunResult>& runs, double slo_p99_ms,
                      double max_error_rate) {
  std::string out =
      "offered_rps,concurrency,sent,ok,errors,error_rate,p50_ms,p90_ms,p99_ms,"
      "p999_ms,max_ms,"
      "mean_ms,throughput_rps,throughput_docs_per_s,goodput_docs_per_s,server_"
      "total_mean_us,"
      "server_queue_mean_us,server_compute_mean_us,send_lag_p99_ms,client_cpu_"
      "cores,meets_slo,"
      "variants\n";
  for (const RunResult& r : runs) {
    const Derived d = Derive(r);
    std::vector<std::string> mix;
    for (const auto& [variant, count] : r.variants)
      mix.push_back(absl::StrCat(variant, "=", count));
    absl::StrAppendFormat(
        &out,
        "%.3f,%d,%d,%d,%d,%.6f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%."
        "1f,%.1f,%.1f,"
        "%.3f,%.3f,%d,%s\n",
        r.offered_rps, r.concurrency, r.sent, r.ok, r.errors, d.error_rate,
        d.p50_ms, d.p90_ms, d.p99_ms, d.p999_ms, d.max_ms, d.mean_ms,
        d.throughput_rps, d.throughput_docs_per_s, d.goodput_docs_per_s,
        r.server_total_us.mean(), r.server_queue_us.mean(),
        r.server_compute_us.mean(), d.lag_p99_ms, d.client_cpu_cores,
        slo_p99_ms > 0 && MeetsSlo(r, slo_p99_ms, max_error_rate) ? 1 : 0,
        absl::StrJoin(mix, ";"));
  }
  return out;
}

std::string SeriesToCsv(const RunResult& r) {
  std::string out =
      "t_s,warmup,offered,ok,errors,docs_ok,good_docs,p50_ms,p99_ms\n";
  for (size_t s = 0; s < r.series.size(); ++s) {
    const SecondStats& sec = r.series[s];
    absl::StrAppendFormat(&out, "%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f\n", s,
                          static_cast<double>(s) < r.warmup_s ? 1 : 0,
                          sec.offered, sec.ok, sec.errors, sec.docs_ok,
                          sec.good_docs,
                          Ms(sec.latency_us.ValueAtPercentile(50)),
                          Ms(sec.latency_us.ValueAtPercentile(99)));
  }
  return out;
}

}  // namespace fastrel::loadtest
