// Validation and numerics sections of a report: predicted vs measured scatter with ±10 % and ±25 %
// bands and the error table per category and set (from `validate --out`), and the numerics
// table (perplexity, logit error, top-1 agreement per scheme and datapath).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "reports/report_build.h"
#include "reports/svg_chart.h"

namespace xpusim {
namespace {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t i = size_t(pos);
  const double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

void one_validation(const ReportValidation& v, ReportDocument& doc) {
  doc.heading("Validation: " + v.source);
  std::vector<std::string> cats, sets;
  for (const auto& r : v.rows) {
    if (std::find(cats.begin(), cats.end(), r.category) == cats.end()) cats.push_back(r.category);
    if (std::find(sets.begin(), sets.end(), r.set) == sets.end()) sets.push_back(r.set);
  }
  size_t predicted = 0;
  for (const auto& r : v.rows) predicted += r.pred_ms.has_value();
  doc.text(
      fmt::format("{} measured rows, {} with a prediction, in {} categories and {} sets. "
                  "Error = predicted / measured − 1.",
                  v.rows.size(), predicted, cats.size(), sets.size()));
  // Colours by kind of kernel (the category's first word: gemm, attention, elementwise, e2e);
  // the category itself is in each point's hover text.
  std::vector<std::string> kinds;
  auto kind_of = [](const std::string& c) { return c.substr(0, c.find(' ')); };
  for (const auto& c : cats)
    if (std::find(kinds.begin(), kinds.end(), kind_of(c)) == kinds.end())
      kinds.push_back(kind_of(c));
  // One scatter per set, so that calibration and hold-out rows are seen apart.
  bool first = true;
  for (const auto& set : sets) {
    std::vector<svg::Point> pts;
    for (const auto& r : v.rows) {
      if (r.set != set || !r.pred_ms || !(*r.pred_ms > 0) || !(r.measured_ms > 0)) continue;
      const int g = int(std::find(kinds.begin(), kinds.end(), kind_of(r.category)) - kinds.begin());
      pts.push_back({r.measured_ms, *r.pred_ms, g, false,
                     fmt::format("{} [{}] {}: measured {} ms, predicted {} ms ({:+.1f}%){}",
                                 r.category, r.set, r.label, report_number(r.measured_ms),
                                 report_number(*r.pred_ms), (*r.pred_ms / r.measured_ms - 1) * 100,
                                 r.bound.empty() ? "" : ", " + r.bound + "-bound")});
    }
    if (pts.empty()) continue;
    svg::ScatterOptions o;
    o.x = {"measured (ms)", true};
    o.y = {"predicted (ms)", true};
    o.groups = kinds;
    o.diagonal = true;
    o.bands = {0.25, 0.10};
    doc.chart("validation-" + set,
              svg::scatter(fmt::format("Predicted vs measured: {} set", set), pts, o),
              first ? "On the dashed line the prediction equals the measurement; the shaded "
                      "bands are ±10 % and ±25 %. Colours: the kind of kernel; hover a point for "
                      "its category and shape."
                    : "");
    first = false;
  }
  ReportTable t;
  t.header = {"category",           "set",           "rows",          "MAPE (%)",
              "median |err| (%)",   "p90 |err| (%)", "max |err| (%)", "within ±10 % (%)",
              "mean signed err (%)"};
  t.numeric = {false, false, true, true, true, true, true, true, true};
  for (const auto& set : sets)
    for (const auto& cat : cats) {
      std::vector<double> abs_err;
      double signed_sum = 0;
      for (const auto& r : v.rows)
        if (r.set == set && r.category == cat && r.pred_ms && r.measured_ms > 0) {
          const double e = (*r.pred_ms / r.measured_ms - 1) * 100;
          abs_err.push_back(std::abs(e));
          signed_sum += e;
        }
      if (abs_err.empty()) continue;
      double mean = 0;
      size_t within = 0;
      for (double e : abs_err) mean += e, within += e <= 10;
      const double n = double(abs_err.size());
      t.rows.push_back({cat, set, std::to_string(abs_err.size()), fmt::format("{:.1f}", mean / n),
                        fmt::format("{:.1f}", percentile(abs_err, 0.5)),
                        fmt::format("{:.1f}", percentile(abs_err, 0.9)),
                        fmt::format("{:.1f}", percentile(abs_err, 1.0)),
                        fmt::format("{:.0f}", 100 * double(within) / n),
                        fmt::format("{:+.1f}", signed_sum / n)});
    }
  doc.table(std::move(t));
}

}  // namespace

void add_validation_sections(const std::vector<ReportValidation>& validations,
                             ReportDocument& doc) {
  for (const auto& v : validations) one_validation(v, doc);
}

void add_numerics_section(const std::vector<ReportRun>& runs,
                          const std::vector<ReportNumerics>& numerics, ReportDocument& doc) {
  std::vector<ReportNumericsRow> rows;
  std::set<std::string> seen;
  // A run's points repeat their scheme's numerics per phase: one row per (hw, scheme).
  for (const auto& r : runs)
    for (const auto& p : r.points) {
      if (!p.contains("numerics") || !p["numerics"].is_object()) continue;
      const auto& n = p["numerics"];
      ReportNumericsRow row;
      row.hw = p.value("hw", "");
      row.scheme = n.value("scheme", "");
      row.datapath = n.value("datapath", "");
      row.ok = n.contains("perplexity");
      row.error = n.value("error", "");
      auto get = [&](const char* k) -> std::optional<double> {
        if (n.contains(k) && n[k].is_number()) return n[k].get<double>();
        return std::nullopt;
      };
      row.perplexity = get("perplexity");
      row.perplexity_delta_pct = get("perplexity_delta_pct");
      row.logit_rel_err = get("logit_rel_err");
      row.top1_agreement = get("top1_agreement");
      if (seen.insert(row.hw + "\n" + row.scheme + "\n" + row.datapath).second)
        rows.push_back(std::move(row));
    }
  for (const auto& n : numerics)
    for (const auto& row : n.rows)
      if (seen.insert(row.hw + "\n" + row.scheme + "\n" + row.datapath).second) rows.push_back(row);
  if (rows.empty()) return;
  doc.heading("Numerics");
  doc.text(
      "Each scheme run on the device's datapath (number formats emulated) on the reference "
      "model: perplexity and its change from fp32, the logits' relative error and how often "
      "the top-1 token agrees with fp32.");
  ReportTable t;
  t.header = {"hw",
              "scheme",
              "datapath",
              "perplexity",
              "Δ perplexity (%)",
              "logit rel. err",
              "top-1 agreement",
              "note"};
  t.numeric = {false, false, false, true, true, true, true, false};
  auto opt = [](const std::optional<double>& v) { return v ? report_number(*v) : ""; };
  for (const auto& r : rows)
    t.rows.push_back({r.hw, r.scheme, r.datapath, opt(r.perplexity), opt(r.perplexity_delta_pct),
                      opt(r.logit_rel_err), opt(r.top1_agreement), r.ok ? "" : r.error});
  doc.table(std::move(t));
}

ReportDocument build_report(const ReportInputs& in, const std::string& title) {
  ReportDocument doc;
  doc.title = title;
  std::vector<std::string> sources;
  for (const auto& r : in.runs) sources.push_back("run " + r.source);
  for (const auto& s : in.sweeps) sources.push_back("sweep " + s.name + " (" + s.source + ")");
  for (const auto& v : in.validations) sources.push_back("validation " + v.source);
  for (const auto& n : in.numerics) sources.push_back("numerics " + n.source);
  std::string line;
  for (const auto& s : sources) line += (line.empty() ? "From: " : "; ") + s;
  doc.subtitle.push_back(line);
  add_run_sections(in.runs, doc);
  add_numerics_section(in.runs, in.numerics, doc);
  add_sweep_sections(in.sweeps, doc);
  add_validation_sections(in.validations, doc);
  return doc;
}

}  // namespace xpusim
