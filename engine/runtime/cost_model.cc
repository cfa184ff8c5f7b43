#include "engine/runtime/cost_model.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/model/model.h"
#include "engine/runtime/encoder.h"
#include "engine/runtime/packed_batch.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

constexpr int kNumFeatures = 4;  // 1, T, Q, S
using FeatureRow = std::array<double, kNumFeatures>;

FeatureRow Row(const LengthConfig& length, bool length_aware,
               std::span<const int> lengths) {
  const CostFeatureValues f =
      ComputeCostFeatures(length, length_aware, lengths);
  return {1.0, f.tokens, f.quadratic, f.sequences};
}

std::array<bool, kNumFeatures> Enabled(const CostFeatures& f) {
  return {f.intercept, f.tokens, f.quadratic, f.sequences};
}

// Solves the k x k system m * x = r in place (Gaussian elimination, partial
// pivoting). False if singular.
bool Solve(std::vector<std::vector<double>> m, std::vector<double> r,
           std::vector<double>* x) {
  const int k = static_cast<int>(r.size());
  for (int c = 0; c < k; ++c) {
    int p = c;
    for (int i = c + 1; i < k; ++i) {
      if (std::abs(m[i][c]) > std::abs(m[p][c])) p = i;
    }
    if (std::abs(m[p][c]) < 1e-12) return false;
    std::swap(m[p], m[c]);
    std::swap(r[p], r[c]);
    for (int i = c + 1; i < k; ++i) {
      const double f = m[i][c] / m[c][c];
      for (int j = c; j < k; ++j) m[i][j] -= f * m[c][j];
      r[i] -= f * r[c];
    }
  }
  x->assign(k, 0);
  for (int c = k - 1; c >= 0; --c) {
    double s = r[c];
    for (int j = c + 1; j < k; ++j) s -= m[c][j] * (*x)[j];
    (*x)[c] = s / m[c][c];
  }
  return true;
}

double Predict(const FeatureRow& row, const FeatureRow& coef) {
  double t = 0;
  for (int j = 0; j < kNumFeatures; ++j) t += row[j] * coef[j];
  return t;
}

std::vector<double> RelErrors(const std::vector<FeatureRow>& rows,
                              const std::vector<double>& t,
                              const FeatureRow& coef) {
  std::vector<double> e;
  e.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    e.push_back(std::abs(Predict(rows[i], coef) - t[i]) / t[i]);
  }
  return e;
}

// Non-negative least squares on relative error: minimizes
// Σ_i ((row_i · coef - t_i) / t_i)² over coef >= 0 with only `enabled`
// features, exactly, by solving the unconstrained problem on every subset of
// the enabled features and keeping the best feasible one. Columns are scaled
// to unit RMS for conditioning.
absl::StatusOr<FeatureRow> FitNnls(const std::vector<FeatureRow>& rows,
                                   const std::vector<double>& t,
                                   const std::array<bool, kNumFeatures>& on) {
  FeatureRow scale{};
  for (int j = 0; j < kNumFeatures; ++j) {
    double ss = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = rows[i][j] / t[i];
      ss += v * v;
    }
    scale[j] = ss > 0 ? std::sqrt(ss / rows.size()) : 0;
  }
  double best_cost = std::numeric_limits<double>::infinity();
  FeatureRow best{};
  for (int mask = 1; mask < (1 << kNumFeatures); ++mask) {
    std::vector<int> cols;
    bool ok = true;
    for (int j = 0; j < kNumFeatures; ++j) {
      if (mask & (1 << j)) {
        if (!on[j] || scale[j] == 0) ok = false;
        cols.push_back(j);
      }
    }
    if (!ok || cols.size() > rows.size()) continue;
    const int k = static_cast<int>(cols.size());
    std::vector<std::vector<double>> m(k, std::vector<double>(k, 0));
    std::vector<double> r(k, 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      for (int a = 0; a < k; ++a) {
        const double xa = rows[i][cols[a]] / t[i] / scale[cols[a]];
        r[a] += xa;  // target: 1 (relative error)
        for (int b = 0; b < k; ++b) {
          m[a][b] += xa * rows[i][cols[b]] / t[i] / scale[cols[b]];
        }
      }
    }
    std::vector<double> x;
    if (!Solve(m, r, &x)) continue;
    FeatureRow coef{};
    for (int a = 0; a < k; ++a) {
      if (x[a] < 0) ok = false;
      coef[cols[a]] = x[a] / scale[cols[a]];
    }
    if (!ok) continue;
    double cost = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double e = (Predict(rows[i], coef) - t[i]) / t[i];
      cost += e * e;
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = coef;
    }
  }
  if (!std::isfinite(best_cost)) {
    return absl::InvalidArgumentError(
        "cost model: no non-negative fit (too few or degenerate shapes)");
  }
  return best;
}

// Draws batch shapes (see CalibrationOptions).
class ShapeSampler {
 public:
  ShapeSampler(const CalibrationOptions& o, int max_length)
      : o_(o), max_length_(max_length), rng_(o.seed) {}

  std::vector<int> Next() {
    std::uniform_real_distribution<double> u(0, 1);
    const int s = std::clamp(static_cast<int>(std::floor(std::exp(
                                 u(rng_) * std::log(o_.max_sequences + 1.0)))),
                             1, o_.max_sequences);
    const bool from_samples = !o_.length_samples.empty() && (count_++ % 2 == 0);
    std::uniform_int_distribution<int> uniform(
        std::min(o_.min_length, max_length_), max_length_);
    std::uniform_int_distribution<size_t> pick(
        0, o_.length_samples.empty() ? 0 : o_.length_samples.size() - 1);
    std::vector<int> lengths;
    int total = 0;
    for (int i = 0; i < s; ++i) {
      int n = from_samples ? o_.length_samples[pick(rng_)] : uniform(rng_);
      n = std::clamp(n, 1, max_length_);
      if (!lengths.empty() && total + n > o_.max_batch_tokens) break;
      lengths.push_back(n);
      total += n;
    }
    return lengths;
  }

 private:
  const CalibrationOptions& o_;
  int max_length_;
  std::mt19937_64 rng_;
  int count_ = 0;
};

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double ThreadCpuUs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

}  // namespace

std::string CostFeatures::ToString() const {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (on) absl::StrAppend(&s, s.empty() ? "" : "+", name);
  };
  add(intercept, "1");
  add(tokens, "T");
  add(quadratic, "Q");
  add(sequences, "S");
  absl::StrAppend(&s, length_aware ? " (length-aware)" : " (raw lengths)");
  return s;
}

CostFeatureValues ComputeCostFeatures(const LengthConfig& length,
                                      bool length_aware,
                                      std::span<const int> lengths) {
  CostFeatureValues f;
  f.sequences = static_cast<double>(lengths.size());
  if (!length_aware || length.keep_ratios.empty()) {
    for (int n : lengths) {
      f.tokens += n;
      f.quadratic += static_cast<double>(n) * n;
    }
    return f;
  }
  const int layers = static_cast<int>(length.keep_ratios.size());
  for (int n : lengths) {
    // k_{l-1}(n): tokens entering layer l.
    int k = n;
    for (int l = 0; l < layers; ++l) {
      f.tokens += k;
      f.quadratic += static_cast<double>(k) * k;
      k = length.KeptTokens(l, n);
    }
  }
  f.tokens /= layers;
  f.quadratic /= layers;
  return f;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1,
               static_cast<size_t>(std::max(0.0, std::ceil(q * v.size()) - 1)));
  return v[i];
}

absl::StatusOr<VariantCost> CostModel::FitVariant(
    const CostTarget& target, const std::vector<std::vector<int>>& shapes,
    const std::vector<double>& micros, const CostFeatures& features,
    bool trim_outliers) {
  if (shapes.size() != micros.size()) {
    return absl::InvalidArgumentError("cost model: shapes/micros size differ");
  }
  const auto on = Enabled(features);
  const size_t k = std::count(on.begin(), on.end(), true);
  if (k == 0 || shapes.size() < k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cost model: variant ", target.name, " has ", shapes.size(),
        " timed shapes; the fit needs at least ", k));
  }
  std::vector<FeatureRow> rows;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (!(micros[i] > 0) || shapes[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cost model: variant ", target.name, " shape ", i,
                       " is empty or has a non-positive time ", micros[i]));
    }
    rows.push_back(Row(target.length, features.length_aware, shapes[i]));
  }
  absl::StatusOr<FeatureRow> coef = FitNnls(rows, micros, on);
  if (!coef.ok()) return coef.status();
  int trimmed = 0;
  if (trim_outliers) {
    const std::vector<double> e = RelErrors(rows, micros, *coef);
    const double cut = std::max(3 * Quantile(e, 0.5), 0.05);
    std::vector<size_t> order(e.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&e](size_t a, size_t b) { return e[a] > e[b]; });
    std::vector<bool> drop(e.size(), false);
    const size_t max_drop = std::min(e.size() / 5, e.size() - k);
    for (size_t i = 0; i < max_drop && e[order[i]] > cut; ++i) {
      drop[order[i]] = true;
      ++trimmed;
    }
    if (trimmed > 0) {
      std::vector<FeatureRow> kept_rows;
      std::vector<double> kept_t;
      for (size_t i = 0; i < rows.size(); ++i) {
        if (!drop[i]) {
          kept_rows.push_back(rows[i]);
          kept_t.push_back(micros[i]);
        }
      }
      absl::StatusOr<FeatureRow> refit = FitNnls(kept_rows, kept_t, on);
      if (refit.ok()) {
        coef = refit;
      } else {
        trimmed = 0;
      }
    }
  }
  VariantCost v;
  v.trimmed_shapes = trimmed;
  v.name = target.name;
  v.length = target.length;
  v.a_us = (*coef)[0];
  v.b_us = (*coef)[1];
  v.c_us = (*coef)[2];
  v.d_us = (*coef)[3];
  v.fit_shapes = static_cast<int>(shapes.size());
  const std::vector<double> e = RelErrors(rows, micros, *coef);
  v.fit_median_rel_error = Quantile(e, 0.5);
  v.fit_p90_rel_error = Quantile(e, 0.9);
  return v;
}

absl::StatusOr<CostModel> CostModel::Calibrate(
    std::span<const CostTarget> targets, const BatchTimer& timer,
    const CalibrationOptions& o) {
  if (targets.empty()) {
    return absl::InvalidArgumentError("cost model: no variants");
  }
  const int max_length = o.max_length > 0 ? o.max_length : 128;
  if (o.max_sequences < 1 || o.min_length < 1 || o.min_length > max_length ||
      o.max_batch_tokens < 1 || o.min_shapes_per_variant < 1 ||
      o.max_shapes_per_variant < o.min_shapes_per_variant ||
      !(o.holdout_fraction >= 0 && o.holdout_fraction < 1) ||
      !(o.budget_ms >= 0)) {
    return absl::InvalidArgumentError(
        "cost model: bad calibration options (need max_sequences >= 1, "
        "1 <= min_length <= max_length, max_batch_tokens >= 1, "
        "1 <= min_shapes <= max_shapes, 0 <= holdout_fraction < 1, "
        "budget_ms >= 0)");
  }
  const double start = NowMs();
  ShapeSampler sampler(o, max_length);
  const int nv = static_cast<int>(targets.size());
  for (int v = 0; v < nv; ++v) {
    for (int w = 0; w < o.warmup_batches; ++w) {
      absl::StatusOr<BatchTime> t = timer(v, sampler.Next());
      if (!t.ok()) return t.status();
    }
  }
  // The same shapes on every variant, round by round.
  std::vector<std::vector<int>> shapes;
  std::vector<std::vector<BatchTime>> times(nv);
  while (static_cast<int>(shapes.size()) < o.min_shapes_per_variant ||
         (NowMs() - start < o.budget_ms &&
          static_cast<int>(shapes.size()) < o.max_shapes_per_variant)) {
    shapes.push_back(sampler.Next());
    for (int v = 0; v < nv; ++v) {
      BatchTime best{std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::infinity()};
      for (int r = 0; r < std::max(1, o.reps_per_shape); ++r) {
        absl::StatusOr<BatchTime> t = timer(v, shapes.back());
        if (!t.ok()) return t.status();
        best.wall_us = std::min(best.wall_us, t->wall_us);
        best.cpu_us = std::min(best.cpu_us, t->cpu_us);
      }
      times[v].push_back(best);
    }
  }
  CostModel model;
  model.features_ = o.features;
  model.clock_ = o.clock;
  for (int v = 0; v < nv; ++v) {
    std::vector<std::vector<int>> fit_shapes, held_shapes;
    std::vector<double> fit_t, held_t;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const double us = o.clock == CostClock::kWall ? times[v][i].wall_us
                                                    : times[v][i].cpu_us;
      // Deterministic split: shape i is held out when floor((i+1)*f) steps.
      const bool held = std::floor((i + 1) * o.holdout_fraction) >
                        std::floor(i * o.holdout_fraction);
      (held ? held_shapes : fit_shapes).push_back(shapes[i]);
      (held ? held_t : fit_t).push_back(us);
    }
    absl::StatusOr<VariantCost> c =
        FitVariant(targets[v], fit_shapes, fit_t, o.features, o.trim_outliers);
    if (!c.ok()) return c.status();
    std::vector<double> e;
    for (size_t i = 0; i < held_shapes.size(); ++i) {
      const FeatureRow coef{c->a_us, c->b_us, c->c_us, c->d_us};
      const FeatureRow row =
          Row(targets[v].length, o.features.length_aware, held_shapes[i]);
      e.push_back(std::abs(Predict(row, coef) - held_t[i]) / held_t[i]);
    }
    c->holdout_shapes = static_cast<int>(e.size());
    c->median_rel_error = Quantile(e, 0.5);
    c->p90_rel_error = Quantile(e, 0.9);
    c->max_rel_error = Quantile(e, 1.0);
    model.variants_.push_back(std::move(*c));
  }
  model.calibration_ms_ = NowMs() - start;
  return model;
}

BatchTimer MakeEncoderTimer(std::vector<TimedVariant> variants, int vocab_size,
                            uint64_t seed) {
  struct State {
    std::vector<TimedVariant> variants;
    std::vector<std::unique_ptr<Workspace>> workspaces;
    int vocab = 0;
    std::mt19937 rng;
    PackedBatch batch;
    std::vector<float> logits;
    std::vector<int32_t> ids, types;
  };
  auto st = std::make_shared<State>();
  st->variants = std::move(variants);
  for (const TimedVariant& v : st->variants) {
    st->workspaces.push_back(v.encoder->NewWorkspace());
  }
  st->vocab = vocab_size;
  st->rng.seed(static_cast<uint32_t>(seed));
  return [st](int v,
              std::span<const int> lengths) -> absl::StatusOr<BatchTime> {
    if (v < 0 || v >= static_cast<int>(st->variants.size())) {
      return absl::InvalidArgumentError("cost model timer: bad variant index");
    }
    st->batch.Clear();
    const int hi = std::max(1, st->vocab - 1);
    std::uniform_int_distribution<int32_t> id(std::min(1000, hi), hi);
    for (int n : lengths) {
      st->ids.resize(n);
      st->types.assign(n, 0);
      for (int i = 0; i < n; ++i) st->ids[i] = id(st->rng);
      st->ids[0] = std::min(101, hi);                    // [CLS]
      for (int i = n / 3; i < n; ++i) st->types[i] = 1;  // the document
      st->batch.Add(st->ids, st->types);
    }
    st->logits.resize(st->batch.num_sequences());
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ThreadCpuUs();
    absl::Status s = st->variants[v].encoder->Forward(
        st->batch, st->variants[v].length, st->workspaces[v].get(), st->logits);
    const double c1 = ThreadCpuUs();
    const auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) return s;
    return BatchTime{std::chrono::duration<double, std::micro>(t1 - t0).count(),
                     c1 - c0};
  };
}

std::vector<std::vector<int>> SampleBatchShapes(
    const CalibrationOptions& options, int count) {
  ShapeSampler sampler(options, std::max(1, options.max_length));
  std::vector<std::vector<int>> out;
  for (int i = 0; i < count; ++i) out.push_back(sampler.Next());
  return out;
}

absl::StatusOr<CostModel> CostModel::Calibrate(const Model& model,
                                               const CalibrationOptions& o) {
  std::vector<CostTarget> targets;
  std::vector<TimedVariant> timed;
  for (const Variant& v : model.variants()) {
    targets.push_back({v.name, v.length});
    timed.push_back({&model.encoder(v), v.length});
  }
  CalibrationOptions options = o;
  if (options.max_length <= 0 || options.max_length > model.max_seq_len()) {
    options.max_length = model.max_seq_len();
  }
  return Calibrate(
      targets,
      MakeEncoderTimer(std::move(timed), model.config().vocab_size, o.seed),
      options);
}

double CostModel::PredictMicros(int variant,
                                std::span<const int> lengths) const {
  if (variant < 0 || variant >= static_cast<int>(variants_.size())) {
    return std::numeric_limits<double>::infinity();
  }
  const VariantCost& c = variants_[variant];
  const FeatureRow row = Row(c.length, features_.length_aware, lengths);
  return Predict(row, {c.a_us, c.b_us, c.c_us, c.d_us});
}

absl::StatusOr<double> CostModel::PredictMicros(
    std::string_view name, std::span<const int> lengths) const {
  for (size_t i = 0; i < variants_.size(); ++i) {
    if (variants_[i].name == name) {
      return PredictMicros(static_cast<int>(i), lengths);
    }
  }
  return absl::NotFoundError(
      absl::StrCat("cost model: no variant \"", std::string(name), "\""));
}

std::string CostModel::Report() const {
  std::string s = absl::StrFormat(
      "cost model: t = a + b*T + c*Q + d*S (us), features %s, clock %s, "
      "calibrated in %.0f ms\n",
      features_.ToString(), clock_ == CostClock::kWall ? "wall" : "thread_cpu",
      calibration_ms_);
  absl::StrAppendFormat(&s, "%-10s %9s %9s %11s %9s %5s %5s %8s %8s %8s\n",
                        "variant", "a_us", "b_us/tok", "c_us/tok2", "d_us/seq",
                        "fit", "held", "med_err", "p90_err", "fit_p90");
  for (const VariantCost& v : variants_) {
    absl::StrAppendFormat(
        &s, "%-10s %9.1f %9.3f %11.6f %9.2f %5d %5d %7.1f%% %7.1f%% %7.1f%%\n",
        v.name, v.a_us, v.b_us, v.c_us, v.d_us, v.fit_shapes, v.holdout_shapes,
        100 * v.median_rel_error, 100 * v.p90_rel_error,
        100 * v.fit_p90_rel_error);
  }
  return s;
}

std::string CostModel::ReportJson() const {
  nlohmann::json j;
  j["features"] = features_.ToString();
  j["clock"] = clock_ == CostClock::kWall ? "wall" : "thread_cpu";
  j["calibration_ms"] = calibration_ms_;
  j["variants"] = nlohmann::json::array();
  for (const VariantCost& v : variants_) {
    j["variants"].push_back({{"name", v.name},
                             {"keep_ratios", v.length.keep_ratios},
                             {"a_us", v.a_us},
                             {"b_us_per_token", v.b_us},
                             {"c_us_per_token2", v.c_us},
                             {"d_us_per_sequence", v.d_us},
                             {"fit_shapes", v.fit_shapes},
                             {"trimmed_shapes", v.trimmed_shapes},
                             {"holdout_shapes", v.holdout_shapes},
                             {"holdout_median_rel_error", v.median_rel_error},
                             {"holdout_p90_rel_error", v.p90_rel_error},
                             {"holdout_max_rel_error", v.max_rel_error},
                             {"fit_median_rel_error", v.fit_median_rel_error},
                             {"fit_p90_rel_error", v.fit_p90_rel_error}});
  }
  return j.dump();
}

}  // namespace fastrel
