#include "loadtest/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fastrel::loadtest {

namespace {

struct Line {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
  bool markers = true;
};

struct Panel {
  double x = 0, y = 0, w = 0, h = 0;  // plot area in pixels
  std::string title, xlabel, ylabel;
  bool log_y = false;
  std::vector<Line> lines;
  double hline = -1;  // horizontal reference (e.g. SLO), < 0 = none
  std::string hline_label;
  double vline = -1;  // vertical marker, < 0 = none
  std::string vline_label;
  double shade_until_x = -1;    // shade [xmin, this] (warm-up), < 0 = none
  bool x_from_zero = false;     // start the x axis at 0
  bool legend_outside = false;  // legend right of the plot area
};

Panel MakePanel(double x, double y, double w, double h, std::string title,
                std::string xlabel, std::string ylabel, bool log_y = false) {
  Panel p;
  p.x = x;
  p.y = y;
  p.w = w;
  p.h = h;
  p.title = std::move(title);
  p.xlabel = std::move(xlabel);
  p.ylabel = std::move(ylabel);
  p.log_y = log_y;
  return p;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// About five round tick values covering [lo, hi].
std::vector<double> LinearTicks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(t);
  return ticks;
}

std::string FormatTick(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 100 || std::fabs(v - std::round(v)) < 1e-9) {
    return absl::StrFormat("%.0f", v);
  }
  if (std::fabs(v) >= 1) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2g", v);
}

void DrawPanel(const Panel& p, std::string* svg) {
  // Data ranges.
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const Line& l : p.lines) {
    for (auto [x, y] : l.points) {
      if (p.log_y && y <= 0) continue;
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymin = std::min(ymin, y);
      ymax = std::max(ymax, y);
    }
  }
  if (p.hline > 0) {
    ymin = std::min(ymin, p.hline);
    ymax = std::max(ymax, p.hline);
  }
  if (xmin > xmax)
    xmin = 0, xmax = 1, ymin = p.log_y ? 1 : 0, ymax = p.log_y ? 10 : 1;
  if (p.x_from_zero) xmin = 0;
  if (xmax == xmin) xmax = xmin + 1;
  std::vector<double> yticks;
  if (p.log_y) {
    double lo = std::pow(10, std::floor(std::log10(std::max(ymin, 1e-3))));
    double hi = std::pow(10, std::ceil(std::log10(std::max(ymax, lo * 10))));
    if (hi <= lo) hi = lo * 10;
    ymin = lo;
    ymax = hi;
    for (double d = lo; d <= hi * 1.0001; d *= 10) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (d * m <= hi * 1.0001) yticks.push_back(d * m);
      }
    }
  } else {
    ymin = std::min(0.0, ymin);
    if (ymax <= ymin) ymax = ymin + 1;
    ymax *= 1.08;
    yticks = LinearTicks(ymin, ymax);
  }
  auto sx = [&](double x) { return p.x + (x - xmin) / (xmax - xmin) * p.w; };
  auto sy = [&](double y) {
    if (p.log_y) {
      const double v = std::max(y, ymin);
      return p.y + p.h -
             (std::log10(v) - std::log10(ymin)) /
                 (std::log10(ymax) - std::log10(ymin)) * p.h;
    }
    return p.y + p.h - (y - ymin) / (ymax - ymin) * p.h;
  };

  absl::StrAppendFormat(
      svg,
      "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='white' "
      "stroke='#444'/>\n",
      p.x, p.y, p.w, p.h);
  if (p.shade_until_x > xmin) {
    absl::StrAppendFormat(
        svg,
        "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
        "fill='#eeeeee'/><text x='%.1f' y='%.1f' font-size='11' "
        "fill='#777'>warm-up</text>\n",
        p.x, p.y, sx(std::min(p.shade_until_x, xmax)) - p.x, p.h, p.x + 4,
        p.y + p.h - 6);
  }
  // Grid and tick labels.
  for (double t : yticks) {
    absl::StrAppendFormat(
        svg,
        "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
        "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%s</text>\n",
        p.x, sy(t), p.x + p.w, sy(t), p.x - 5, sy(t) + 4, FormatTick(t));
  }
  for (double t : LinearTicks(xmin, xmax)) {
    absl::StrAppendFormat(
        svg,
        "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
        "<text x='%.1f' y='%.1f' font-size='11' "
        "text-anchor='middle'>%s</text>\n",
        sx(t), p.y, sx(t), p.y + p.h, sx(t), p.y + p.h + 15, FormatTick(t));
  }
  absl::StrAppendFormat(
      svg,
      "<text x='%.1f' y='%.1f' font-size='14' font-weight='bold' "
      "text-anchor='middle'>%s</text>\n",
      p.x + p.w / 2, p.y - 10, Escape(p.title));
  absl::StrAppendFormat(
      svg,
      "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n",
      p.x + p.w / 2, p.y + p.h + 32, Escape(p.xlabel));
  absl::StrAppendFormat(
      svg,
      "<text transform='translate(%.1f,%.1f) rotate(-90)' font-size='12' "
      "text-anchor='middle'>%s</text>\n",
      p.x - 48, p.y + p.h / 2, Escape(p.ylabel));
  if (p.hline > 0) {
    absl::StrAppendFormat(
        svg,
        "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#c00' "
        "stroke-dasharray='6,4'/><text x='%.1f' y='%.1f' font-size='11' "
        "fill='#c00' text-anchor='end'>%s</text>\n",
        p.x, sy(p.hline), p.x + p.w, sy(p.hline), p.x + p.w - 4,
        sy(p.hline) - 4, Escape(p.hline_label));
  }
  if (p.vline >= xmin && p.vline <= xmax) {
    absl::StrAppendFormat(
        svg,
        "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#080' "
        "stroke-dasharray='3,3'/><text x='%.1f' y='%.1f' font-size='11' "
        "fill='#080'>%s</text>\n",
        sx(p.vline), p.y, sx(p.vline), p.y + p.h, sx(p.vline) + 4,
        p.y + p.h - 6, Escape(p.vline_label));
  }
  // Data.
  double legend_y = p.y + 16;
  const double legend_x = p.legend_outside ? p.x + p.w + 4 : p.x;
  for (const Line& l : p.lines) {
    std::string pts;
    for (auto [x, y] : l.points) {
      if (p.log_y && y <= 0) continue;
      absl::StrAppendFormat(&pts, "%.1f,%.1f ", sx(x), sy(y));
    }
    absl::StrAppendFormat(
        svg,
        "<polyline fill='none' stroke='%s' stroke-width='2' %s points='%s'/>\n",
        l.color, l.dashed ? "stroke-dasharray='6,4'" : "", pts);
    if (l.markers) {
      for (auto [x, y] : l.points) {
        if (p.log_y && y <= 0) continue;
        absl::StrAppendFormat(svg,
                              "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>",
                              sx(x), sy(y), l.color);
      }
      svg->push_back('\n');
    }
    absl::StrAppendFormat(
        svg,
        "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
        "stroke-width='2' %s/><text x='%.1f' y='%.1f' "
        "font-size='11'>%s</text>\n",
        legend_x + 8, legend_y - 4, legend_x + 28, legend_y - 4, l.color,
        l.dashed ? "stroke-dasharray='6,4'" : "", legend_x + 32, legend_y,
        Escape(l.name));
    legend_y += 15;
  }
}

std::string Document(double width, double height, const std::string& title,
                     const std::string& body) {
  return absl::StrFormat(
      "<?xml version='1.0' encoding='UTF-8'?>\n"
      "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
      "font-family='DejaVu Sans, Arial, sans-serif'>\n"
      "<rect width='100%%' height='100%%' fill='#fafafa'/>\n"
      "<text x='%.0f' y='24' font-size='16' font-weight='bold' "
      "text-anchor='middle'>%s</text>\n"
      "%s</svg>\n",
      width, height, width / 2, Escape(title), body);
}

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace

std::string SweepSvg(const std::vector<RunResult>& runs, double slo_p99_ms,
                     double best_rps, const std::string& title) {
  Panel latency = MakePanel(70, 70, 400, 300, "Latency vs offered load",
                            "offered load (requests/s)",
                            "latency from intended send (ms, log)", true);
  Line p50{"p50", "#1f77b4", {}}, p90{"p90", "#ff7f0e", {}},
      p99{"p99", "#d62728", {}};
  Panel docs = MakePanel(580, 70, 400, 300, "Documents/s vs offered load",
                         "offered load (requests/s)", "documents per second");
  Line offered{"offered", "#999999", {}, true},
      answered{"answered (ok)", "#1f77b4", {}},
      good{"goodput (ok within deadline)", "#2ca02c", {}};
  for (const RunResult& r : runs) {
    const Derived d = Derive(r);
    const double x = r.offered_rps;
    if (r.ok > 0) {
      p50.points.push_back({x, d.p50_ms});
      p90.points.push_back({x, d.p90_ms});
      p99.points.push_back({x, d.p99_ms});
    }
    const double docs_per_req = r.sent > 0 ? static_cast<double>(r.docs_sent) /
                                                 static_cast<double>(r.sent)
                                           : 0;
    offered.points.push_back({x, x * docs_per_req});
    answered.points.push_back({x, d.throughput_docs_per_s});
    good.points.push_back({x, d.goodput_docs_per_s});
  }
  latency.lines = {p50, p90, p99};
  latency.hline = slo_p99_ms;
  latency.hline_label = absl::StrFormat("SLO p99 %.0f ms", slo_p99_ms);
  docs.lines = {offered, answered, good};
  if (best_rps > 0) {
    latency.vline = docs.vline = best_rps;
    latency.vline_label = docs.vline_label =
        absl::StrFormat("max %.0f req/s in SLO", best_rps);
  }
  std::string body;
  DrawPanel(latency, &body);
  DrawPanel(docs, &body);
  return Document(1020, 430, title, body);
}

std::string TimeSeriesSvg(const RunResult& run, const std::string& title) {
  Panel rate =
      MakePanel(80, 60, 720, 170, "Requests per second", "", "requests/s");
  Panel latency =
      MakePanel(80, 290, 720, 170, "Latency of requests completing each second",
                "", "ms (log)", true);
  Panel good = MakePanel(80, 520, 720, 170, "Goodput", "time since start (s)",
                         "documents/s");
  Line offered{"offered (by intended send)", "#999999", {}, true},
      ok{"ok", "#1f77b4", {}}, errors{"errors", "#d62728", {}};
  Line p50{"p50", "#1f77b4", {}}, p99{"p99", "#d62728", {}};
  Line answered{"answered docs/s", "#1f77b4", {}},
      good_docs{"good docs/s (within deadline)", "#2ca02c", {}};
  for (size_t s = 0; s < run.series.size(); ++s) {
    const SecondStats& sec = run.series[s];
    const double t = static_cast<double>(s) + 0.5;
    offered.points.push_back({t, static_cast<double>(sec.offered)});
    ok.points.push_back({t, static_cast<double>(sec.ok)});
    errors.points.push_back({t, static_cast<double>(sec.errors)});
    if (sec.latency_us.count() > 0) {
      p50.points.push_back({t, Ms(sec.latency_us.ValueAtPercentile(50))});
      p99.points.push_back({t, Ms(sec.latency_us.ValueAtPercentile(99))});
    }
    answered.points.push_back({t, static_cast<double>(sec.docs_ok)});
    good_docs.points.push_back({t, static_cast<double>(sec.good_docs)});
  }
  rate.lines = {offered, ok, errors};
  latency.lines = {p50, p99};
  if (run.deadline_ms > 0) {
    latency.hline = run.deadline_ms;
    latency.hline_label = absl::StrFormat("deadline %.0f ms", run.deadline_ms);
  }
  good.lines = {answered, good_docs};
  for (Panel* p : {&rate, &latency, &good}) {
    p->shade_until_x = run.warmup_s;
    p->x_from_zero = true;
    p->legend_outside = true;
  }
  std::string body;
  DrawPanel(rate, &body);
  DrawPanel(latency, &body);
  DrawPanel(good, &body);
  return Document(1020, 740, title, body);
}

}  // namespace fastrel::loadtest
