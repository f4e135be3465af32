// Sweep sections of a report: per phase, a scatter of the first two objectives with the Pareto
// front highlighted, a parallel-coordinates view of the swept parameters and the objectives, and
// the front as a table.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "reports/report_build.h"
#include "reports/svg_chart.h"

namespace xpusim {
namespace {

std::optional<double> metric(const SweepRow& r, const std::string& name) {
  if (const auto i = metric_index(name); i && *i < r.metrics.size()) return r.metrics[*i];
  return std::nullopt;
}

// The leading number of a swept value ("1.2 TB/s" -> 1.2), when the whole value is a number with
// at most a unit after it.
std::optional<double> leading_number(const std::string& v) {
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() || v[used] == ' ') return x;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string unit_suffix(const std::string& v) {
  const auto sp = v.find(' ');
  return sp == std::string::npos ? "" : v.substr(sp + 1);
}

std::string metric_label(const SweepObjective& o) {
  static const std::map<std::string, std::string> kUnits = {
      {"latency_ms", "latency (ms)"},
      {"tokens_per_s", "throughput (tokens/s)"},
      {"ttft_ms", "TTFT (ms)"},
      {"tpot_ms", "TPOT (ms)"},
      {"energy_j", "energy (J)"},
      {"j_per_token", "energy per token (J/token)"},
      {"tokens_per_joule", "tokens per joule (tokens/J)"},
      {"power_w", "average power (W)"},
      {"area_mm2", "die area (mm²)"},
      {"tokens_per_s_per_mm2", "throughput per die area (tokens/s/mm²)"},
      {"weight_gib", "weights per device (GiB)"},
      {"kv_cache_gib", "KV cache per device (GiB)"},
      {"devices", "devices"}};
  const auto it = kUnits.find(o.metric);
  return (it == kUnits.end() ? o.metric : it->second) +
         (o.maximize ? ", higher is better" : ", lower is better");
}

void one_sweep(const ReportSweep& s, ReportDocument& doc) {
  doc.heading("Sweep: " + s.name);
  size_t ok = 0, feasible = 0, front = 0;
  std::set<long long> points;
  for (const auto& r : s.rows) {
    ok += r.ok;
    feasible += r.feasible;
    front += r.pareto;
    points.insert(r.index);
  }
  std::string objectives;
  for (const auto& o : s.objectives)
    objectives += (objectives.empty() ? "" : ", ") +
                  fmt::format("{} {}", o.maximize ? "maximize" : "minimize", o.metric);
  doc.text(fmt::format(
      "{} design points ({} result rows) from {}: {} ran, {} meet the constraints, {} on the "
      "Pareto front of {} ({}), one front per phase.",
      points.size(), s.rows.size(), s.source, ok, feasible, front, objectives,
      s.objectives_given ? "the sweep file's objectives"
                         : "no sweep file given: default objectives"));
  if (s.objectives.size() < 2 || s.rows.empty()) return;
  // Parameters in the order the rows assign them.
  std::vector<std::string> params;
  for (const auto& r : s.rows)
    for (const auto& a : r.assignments) {
      const std::string k = a.substr(0, a.find('='));
      if (std::find(params.begin(), params.end(), k) == params.end()) params.push_back(k);
    }
  std::set<std::string> phases;
  for (const auto& r : s.rows) phases.insert(r.row.value("phase", ""));
  for (const auto& phase : phases) {
    std::vector<std::string> hws;
    std::vector<const SweepRow*> rows;
    for (const auto& r : s.rows) {
      if (r.row.value("phase", "") != phase || !r.ok) continue;
      rows.push_back(&r);
      const std::string hw = r.row.value("hw", "");
      if (std::find(hws.begin(), hws.end(), hw) == hws.end()) hws.push_back(hw);
    }
    if (rows.empty()) continue;
    const SweepObjective &ox = s.objectives[0], &oy = s.objectives[1];
    std::vector<svg::Point> pts;
    bool xlog = true, ylog = true;
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (const SweepRow* r : rows) {
      const auto x = metric(*r, ox.metric), y = metric(*r, oy.metric);
      if (!x || !y) continue;
      xmin = std::min(xmin, *x), xmax = std::max(xmax, *x), ymin = std::min(ymin, *y),
      ymax = std::max(ymax, *y);
      std::string tip = fmt::format("point {}: {} = {}, {} = {}", r->index, ox.metric,
                                    report_number(*x), oy.metric, report_number(*y));
      for (const auto& a : r->assignments) tip += "; " + a;
      const int g = int(std::find(hws.begin(), hws.end(), r->row.value("hw", "")) - hws.begin());
      pts.push_back({*x, *y, g, r->pareto, tip});
    }
    if (pts.empty()) continue;
    // A log axis where the values are positive and span more than a decade.
    xlog = xmin > 0 && xmax / xmin > 10;
    ylog = ymin > 0 && ymax / ymin > 10;
    svg::ScatterOptions o;
    o.x = {metric_label(ox), xlog};
    o.y = {metric_label(oy), ylog};
    o.groups = hws;
    o.front_line = true;
    o.highlight_name = "Pareto front";
    doc.heading(fmt::format("{}: {}", s.name, phase), 3);
    doc.chart(
        fmt::format("pareto-{}-{}", s.name, phase),
        svg::scatter(fmt::format("{} ({}): {} vs {}", s.name, phase, ox.metric, oy.metric), pts, o),
        "Every design point that ran; the Pareto front in red, joined in order. Hover a "
        "front point for its parameters.");
    // Parallel coordinates: the swept parameters, then the objectives.
    std::vector<svg::Dimension> dims;
    std::vector<std::map<std::string, double>> cat_index(params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      std::vector<std::string> values;
      bool numeric = true;
      double lo = 1e300, hi = -1e300;
      for (const SweepRow* r : rows)
        for (const auto& a : r->assignments)
          if (a.substr(0, a.find('=')) == params[k]) {
            const std::string v = a.substr(a.find('=') + 1);
            if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
            const auto n = leading_number(v);
            if (!n)
              numeric = false;
            else
              lo = std::min(lo, *n), hi = std::max(hi, *n);
          }
      svg::Dimension d;
      if (numeric && values.size() > 1) {
        const std::string unit = unit_suffix(values.front());
        d.name = unit.empty() ? params[k] : fmt::format("{} ({})", params[k], unit);
        d.log = lo > 0 && hi / lo >= 8;
      } else {
        d.name = params[k];
        d.labels = values;
        for (size_t i = 0; i < values.size(); ++i) cat_index[k][values[i]] = double(i);
      }
      dims.push_back(std::move(d));
    }
    for (const auto& ob : s.objectives) {
      double lo = 1e300, hi = 0;
      for (const SweepRow* r : rows)
        if (auto v = metric(*r, ob.metric)) lo = std::min(lo, *v), hi = std::max(hi, *v);
      dims.push_back({ob.metric, lo > 0 && hi / lo > 10, {}});
    }
    std::vector<std::vector<double>> lines;
    std::vector<bool> high;
    for (const SweepRow* r : rows) {
      std::vector<double> line(dims.size(), std::nan(""));
      for (const auto& a : r->assignments) {
        const std::string key = a.substr(0, a.find('=')), v = a.substr(a.find('=') + 1);
        const size_t k = size_t(std::find(params.begin(), params.end(), key) - params.begin());
        if (k >= params.size()) continue;
        line[k] =
            dims[k].labels.empty() ? leading_number(v).value_or(std::nan("")) : cat_index[k][v];
      }
      for (size_t i = 0; i < s.objectives.size(); ++i)
        line[params.size() + i] = metric(*r, s.objectives[i].metric).value_or(std::nan(""));
      lines.push_back(std::move(line));
      high.push_back(r->pareto);
    }
    doc.chart(fmt::format("parallel-{}-{}", s.name, phase),
              svg::parallel_coordinates(
                  fmt::format("{} ({}): swept parameters and objectives", s.name, phase), dims,
                  lines, high, "Pareto front"),
              "One line per design point across the swept parameters and the objectives; the "
              "front in red.");
    // The front as a table (at most 40 rows, best first objective first).
    std::vector<const SweepRow*> f;
    for (const SweepRow* r : rows)
      if (r->pareto) f.push_back(r);
    std::sort(f.begin(), f.end(), [&](auto* a, auto* b) {
      const double va = metric(*a, ox.metric).value_or(0), vb = metric(*b, ox.metric).value_or(0);
      return ox.maximize ? va > vb : va < vb;
    });
    ReportTable t;
    t.header = {"point", "hw"};
    for (const auto& p : params) t.header.push_back(p);
    for (const auto& ob : s.objectives) t.header.push_back(ob.metric);
    t.numeric.assign(t.header.size(), false);
    t.numeric[0] = true;
    for (size_t i = 0; i < s.objectives.size(); ++i) t.numeric[2 + params.size() + i] = true;
    for (size_t i = 0; i < f.size() && i < 40; ++i) {
      std::vector<std::string> row = {std::to_string(f[i]->index), f[i]->row.value("hw", "")};
      for (const auto& p : params) {
        std::string v;
        for (const auto& a : f[i]->assignments)
          if (a.substr(0, a.find('=')) == p) v = a.substr(a.find('=') + 1);
        row.push_back(v);
      }
      for (const auto& ob : s.objectives) {
        const auto m = metric(*f[i], ob.metric);
        row.push_back(m ? report_number(*m) : "");
      }
      t.rows.push_back(std::move(row));
    }
    if (f.size() > 40) doc.text(fmt::format("The first 40 of the {} front points:", f.size()));
    doc.table(std::move(t));
  }
}

}  // namespace

void add_sweep_sections(const std::vector<ReportSweep>& sweeps, ReportDocument& doc) {
  for (const auto& s : sweeps) one_sweep(s, doc);
}

}  // namespace xpusim
