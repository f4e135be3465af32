// Run-result sections of a report: the CPU vs GPU vs TPU comparison (table and bar charts), the
// per-operator time breakdown with each operator's bound, and a roofline per device.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "reports/report_build.h"
#include "reports/svg_chart.h"

namespace xpusim {
namespace {

using json = nlohmann::json;

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::optional<double> num(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The options that differ from a plain single-device bf16 point: "int8 tp2 kv:fp8".
std::string setup(const json& p) {
  std::string s = str(p, "quant");
  const std::string kv = str(p, "kv_quant"), prune = str(p, "prune");
  if (!kv.empty() && kv != "bf16" && kv != "fp16" && kv != s) s += " kv:" + kv;
  if (!prune.empty() && prune != "none") s += " " + prune;
  for (const char* k : {"tp", "pp", "ep"})
    if (num(p, k).value_or(1) > 1) s += fmt::format(" {}{}", k, *num(p, k));
  return s;
}

struct Pt {
  const json* j;
  std::string hw, category;  // bar charts: series = hw, category = the rest of the identity
};

// Categories name what differs between the points besides the hardware.
std::vector<Pt> points_of(const std::vector<ReportRun>& runs) {
  std::vector<const json*> all;
  for (const auto& r : runs)
    for (const auto& p : r.points) all.push_back(&p);
  auto varies = [&](const char* key) {
    std::set<std::string> v;
    for (const json* p : all) v.insert(str(*p, key));
    return v.size() > 1;
  };
  const bool models = varies("model"), batches = varies("batch"), ctxs = varies("ctx");
  std::vector<Pt> out;
  for (const json* p : all) {
    std::string c = models ? str(*p, "model") + " " : "";
    c += str(*p, "phase") + " " + setup(*p);
    if (batches) c += " b" + str(*p, "batch");
    if (ctxs) c += " ctx" + str(*p, "ctx");
    out.push_back({p, str(*p, "hw"), c});
  }
  return out;
}

std::optional<double> tokens(const json& p) {
  const auto t = num(p, "tokens_per_s"), l = num(p, "latency_ms");
  if (!t || !l) return std::nullopt;
  return *t * *l / 1e3;
}

std::optional<double> j_per_token(const json& p) {
  const auto e = num(p, "energy_j"), n = tokens(p);
  if (!e || !n || *n <= 0) return std::nullopt;
  return *e / *n;
}

std::string opt(const std::optional<double>& v) { return v ? report_number(*v) : ""; }

// A grouped bar chart of `value` per category (x) and hardware (series), in first-seen order.
std::string bars(const std::vector<Pt>& pts, const std::string& title, const svg::Axis& y,
                 const std::function<std::optional<double>(const json&)>& value) {
  std::vector<std::string> cats, hws;
  for (const auto& p : pts) {
    if (std::find(cats.begin(), cats.end(), p.category) == cats.end()) cats.push_back(p.category);
    if (std::find(hws.begin(), hws.end(), p.hw) == hws.end()) hws.push_back(p.hw);
  }
  std::vector<svg::Series> series;
  for (const auto& hw : hws) {
    svg::Series s{hw, std::vector<std::optional<double>>(cats.size())};
    for (const auto& p : pts)
      if (p.hw == hw) {
        const size_t c = size_t(std::find(cats.begin(), cats.end(), p.category) - cats.begin());
        if (!s.values[c]) s.values[c] = value(*p.j);
      }
    series.push_back(std::move(s));
  }
  return svg::bar_chart(title, cats, series, y);
}

// Bytes an op moved through main memory (levels named `level` or `level.<operand>`).
double main_memory_bytes(const json& op, const std::string& level) {
  double b = 0;
  if (const auto it = op.find("bytes"); it != op.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if ((k == level || k.starts_with(level + ".")) && v.is_number()) b += v.get<double>();
  return b;
}

void comparison(const std::vector<Pt>& pts, ReportDocument& doc) {
  bool energy = false, numerics = false, generate = false;
  for (const auto& p : pts) {
    energy = energy || num(*p.j, "energy_j").has_value();
    numerics =
        numerics || (p.j->contains("numerics") && num((*p.j)["numerics"], "perplexity_delta_pct"));
    generate = generate || num(*p.j, "ttft_ms").has_value();
  }
  doc.heading("Device comparison");
  doc.text(
      "One row per (hardware, model, phase, setup) point. Latency is a whole prefill, one "
      "decode step at the context shown, or the whole request for generate. "
      "\"bound\" is the resource that accounts for most of the point's time." +
      std::string(energy ? ""
                         : " Energy columns appear once the results carry energy "
                           "(energy_j is null in these results)."));
  ReportTable t;
  t.header = {"hw",    "family", "model", "phase",        "setup",
              "batch", "prompt", "ctx",   "latency (ms)", "tokens/s"};
  if (generate) t.header.insert(t.header.end(), {"TTFT (ms)", "TPOT (ms)"});
  if (energy) t.header.insert(t.header.end(), {"energy (J)", "avg power (W)", "J/token"});
  if (numerics) t.header.push_back("Δ perplexity (%)");
  t.header.insert(t.header.end(), {"bound", "note"});
  for (const auto& p : pts) {
    const json& j = *p.j;
    std::vector<std::string> r = {p.hw,
                                  str(j, "family"),
                                  str(j, "model"),
                                  str(j, "phase"),
                                  setup(j),
                                  str(j, "batch"),
                                  str(j, "prompt"),
                                  str(j, "ctx"),
                                  opt(num(j, "latency_ms")),
                                  opt(num(j, "tokens_per_s"))};
    if (generate) r.insert(r.end(), {opt(num(j, "ttft_ms")), opt(num(j, "tpot_ms"))});
    if (energy)
      r.insert(r.end(), {opt(num(j, "energy_j")), opt(num(j, "avg_power_w")), opt(j_per_token(j))});
    if (numerics)
      r.push_back(j.contains("numerics") ? opt(num(j["numerics"], "perplexity_delta_pct")) : "");
    std::string note = str(j, "error");
    if (j.contains("warnings") && j["warnings"].is_array())
      for (const auto& w : j["warnings"])
        note +=
            (note.empty() ? "what-if: " : "; ") + (w.is_string() ? w.get<std::string>() : w.dump());
    r.insert(r.end(), {str(j, "bound"), note});
    t.rows.push_back(std::move(r));
  }
  for (const auto& h : t.header)
    t.numeric.push_back(h.find('(') != std::string::npos || h == "tokens/s" || h == "batch" ||
                        h == "prompt" || h == "ctx" || h == "J/token");
  doc.table(std::move(t));
  doc.chart("latency",
            bars(pts, "Latency per point (log scale)", {"latency (ms)", true},
                 [](const json& j) { return num(j, "latency_ms"); }),
            "Lower is better. Bars are grouped by setup; one colour per device.");
  doc.chart("tokens-per-s",
            bars(pts, "Throughput per point (log scale)", {"tokens/s", true},
                 [](const json& j) { return num(j, "tokens_per_s"); }),
            "Higher is better.");
  if (energy)
    doc.chart("j-per-token",
              bars(pts, "Energy per token (log scale)", {"J/token", true}, j_per_token),
              "Lower is better.");
  std::vector<Pt> by_scheme = pts;  // numerics depend on the scheme, not on the phase
  for (auto& p : by_scheme) p.category = setup(*p.j);
  if (numerics)
    doc.chart("perplexity-change",
              bars(by_scheme, "Perplexity change from fp32 on the device's datapath",
                   {"Δ perplexity (%)", false},
                   [](const json& j) -> std::optional<double> {
                     if (!j.contains("numerics")) return std::nullopt;
                     return num(j["numerics"], "perplexity_delta_pct");
                   }),
              "Measured on the tiny reference model (workloads/models/tiny-llama) through each "
              "point's scheme; lower is better.");
}

// Operator time shares per point, by operator and by bound.
void breakdown(const std::vector<Pt>& pts, ReportDocument& doc) {
  std::map<std::string, double> by_name;
  for (const auto& p : pts)
    if (p.j->contains("ops") && (*p.j)["ops"].is_array())
      for (const auto& o : (*p.j)["ops"]) by_name[str(o, "name")] += num(o, "total_ms").value_or(0);
  if (by_name.empty()) return;
  std::vector<std::pair<std::string, double>> order(by_name.begin(), by_name.end());
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.second > b.second; });
  // Points share their largest operators; more than 11 would exhaust the palette.
  std::vector<std::string> keys;
  for (size_t i = 0; i < order.size() && i < 11; ++i) keys.push_back(order[i].first);
  const bool other = order.size() > keys.size();
  if (other) keys.push_back("other operators");
  std::vector<svg::StackRow> by_op, by_bound;
  for (const auto& p : pts) {
    const json& j = *p.j;
    if (!j.value("ok", false) || !j.contains("ops")) continue;
    double total = 0;
    for (const auto& o : j["ops"]) total += num(o, "total_ms").value_or(0);
    if (!(total > 0)) continue;
    const std::string label = p.hw + " · " + p.category;
    svg::StackRow row{label, {}}, brow{label, {}};
    std::map<std::string, double> bound_ms, rest;
    std::vector<svg::Segment> segs;
    for (const auto& o : j["ops"]) {
      const double ms = num(o, "total_ms").value_or(0);
      const std::string name = str(o, "name"), bound = str(o, "bound");
      bound_ms[bound] += ms;
      const bool kept = std::find(keys.begin(), keys.end(), name) != keys.end();
      const std::string tip =
          fmt::format("{} — {}: {} ms ({:.1f}% of the point), {} × {} {}, {}-bound on {}", label,
                      name, report_number(ms), 100 * ms / total, str(o, "count"), str(o, "kind"),
                      str(o, "shape"), bound, str(o, "unit"));
      if (kept)
        row.segments.push_back({name, 100 * ms / total, tip});
      else
        rest["other operators"] += ms;
    }
    for (const auto& [k, ms] : rest)
      row.segments.push_back({k, 100 * ms / total,
                              fmt::format("{} — other operators: {} ms ({:.1f}%)", label,
                                          report_number(ms), 100 * ms / total)});
    for (const char* b : {"compute", "memory", "latency"})
      if (bound_ms.count(b))
        brow.segments.push_back(
            {std::string(b) + "-bound", 100 * bound_ms[b] / total,
             fmt::format("{} — {}-bound operators: {} ms ({:.1f}%)", label, b,
                         report_number(bound_ms[b]), 100 * bound_ms[b] / total)});
    by_op.push_back(std::move(row));
    by_bound.push_back(std::move(brow));
  }
  if (by_op.empty()) return;
  doc.heading("Where the time goes");
  doc.text(
      "Each bar is one point's time split by operator (all instances: layers × steps), as a "
      "share of the point's total; hover a segment for its time, shape, unit and bound. "
      "The second chart splits the same time by the resource that bounds each operator.");
  doc.chart("time-by-operator",
            svg::stacked_bars("Time per operator", by_op, keys, {"share of the point's time (%)"}));
  doc.chart("time-by-bound", svg::stacked_bars("Time by bounding resource", by_bound,
                                               {"compute-bound", "memory-bound", "latency-bound"},
                                               {"share of the point's time (%)"}));
}

void rooflines(const std::vector<Pt>& pts, ReportDocument& doc) {
  std::vector<std::string> hws;
  for (const auto& p : pts)
    if (std::find(hws.begin(), hws.end(), p.hw) == hws.end() && p.j->contains("roofline"))
      hws.push_back(p.hw);
  if (hws.empty()) return;
  doc.heading("Rooflines");
  doc.text(
      "Each operator (one instance) placed by its arithmetic intensity over main-memory "
      "bytes and its achieved rate; the ceilings are the device's matrix-unit peak for each "
      "format its operators compute in, and its main memory's peak bandwidth (the sloped "
      "part). Collectives and operators without main-memory traffic are left out.");
  const std::vector<std::string> groups = {"compute-bound", "memory-bound", "latency-bound"};
  for (const auto& hw : hws) {
    std::vector<svg::Point> points;
    std::vector<svg::Roof> roofs;
    std::set<std::string> seen;
    std::string level;
    for (const auto& p : pts) {
      if (p.hw != hw || !p.j->contains("roofline")) continue;
      const json& rl = (*p.j)["roofline"];
      level = str(rl, "mem_level");
      const double bw = num(rl, "mem_bw_bytes_per_s").value_or(0) / 1e12;  // TB/s
      if (rl.contains("peak_flops_per_s") && rl["peak_flops_per_s"].is_object())
        for (const auto& [dtype, v] : rl["peak_flops_per_s"].items()) {
          if (!v.is_number()) continue;
          const double peak = v.get<double>() / 1e12;  // TFLOP/s
          const std::string roof = fmt::format("{} peak {} TFLOP/s; {} {} TB/s", dtype,
                                               report_number(peak), level, report_number(bw));
          if (peak > 0 && bw > 0 && seen.insert(roof).second) roofs.push_back({roof, peak, bw});
        }
      if (!p.j->contains("ops")) continue;
      for (const auto& o : (*p.j)["ops"]) {
        const double flops = num(o, "flops").value_or(0), ms = num(o, "time_ms").value_or(0);
        const double bytes = main_memory_bytes(o, level);
        if (str(o, "kind") == "collective" || !(flops > 0) || !(bytes > 0) || !(ms > 0)) continue;
        const std::string bound = str(o, "bound");
        const int g = bound == "compute" ? 0 : bound == "memory" ? 1 : 2;
        const double x = flops / bytes, y = flops / (ms / 1e3) / 1e12;
        points.push_back({x, y, g, false,
                          fmt::format("{} · {}: {} {} ({}) — {} FLOP/B, {} TFLOP/s, {}-bound", hw,
                                      p.category, str(o, "name"), str(o, "shape"), str(o, "dtype"),
                                      report_number(x), report_number(y), bound)});
      }
    }
    if (points.empty()) continue;
    svg::ScatterOptions o;
    o.x = {"arithmetic intensity (FLOP per byte of " + level + ")", true};
    o.y = {"achieved rate (TFLOP/s)", true};
    o.groups = groups;
    o.roofs = roofs;
    doc.chart("roofline-" + hw, svg::scatter("Roofline: " + hw, points, o));
  }
}

}  // namespace

void add_run_sections(const std::vector<ReportRun>& runs, ReportDocument& doc) {
  if (runs.empty()) return;
  const std::vector<Pt> pts = points_of(runs);
  if (pts.empty()) return;
  comparison(pts, doc);
  breakdown(pts, doc);
  rooflines(pts, doc);
}

std::string report_number(double v) {
  if (!std::isfinite(v)) return "";
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-3)) return fmt::format("{:.4g}", v);
  if (a >= 1000) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace xpusim
