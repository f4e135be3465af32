// Reports and traces: escaping of every string that comes from data (a model named like a script
// tag, a hardware name with quotes and ampersands), charts that hold their data marks, the input
// kinds `report` recognises, and the engine's own timeline (spans that add up to what the engine
// reports, collectives that end together on every device, valid trace-event JSON).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "reports/html_escape.h"
#include "reports/report_build.h"
#include "reports/svg_chart.h"
#include "reports/trace_writer.h"
#include "sim/engine/engine.h"
#include "sim/engine/multi_device.h"
#include "sim/engine/multicore.h"
#include "sim/engine/trace.h"
#include "test_helpers.h"

namespace xpusim {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

const char* kEvilModel = "<script>alert(1)</script>";
const char* kEvilHw = "h\"100\" & 'co' <b>";

// One run point, as results.json holds it, with two operators.
nlohmann::json evil_point(const std::string& phase, double latency_ms) {
  nlohmann::json op1 = {{"name", "attn.qkv<img src=x onerror=alert(2)>"},
                        {"kind", "gemm"},
                        {"shape", "M=512 K=4096 N=12288"},
                        {"dtype", "bf16"},
                        {"count", 32},
                        {"time_ms", latency_ms / 64},
                        {"total_ms", latency_ms / 2},
                        {"flops", 5e10},
                        {"bytes", {{"hbm", 1.2e8}, {"l2", 3e8}}},
                        {"bound", "compute"},
                        {"unit", "tensor core"}};
  nlohmann::json op2 = op1;
  op2["name"] = "mlp.down";
  op2["bound"] = "memory";
  op2["flops"] = 1e9;
  return {{"hw", kEvilHw},
          {"model", kEvilModel},
          {"phase", phase},
          {"batch", 1},
          {"prompt", 512},
          {"ctx", 512},
          {"quant", "bf16"},
          {"kv_quant", "bf16"},
          {"prune", "none"},
          {"tp", 1},
          {"pp", 1},
          {"ep", 1},
          {"devices", 1},
          {"ok", true},
          {"latency_ms", latency_ms},
          {"tokens_per_s", 512 / latency_ms * 1e3},
          {"energy_j", nullptr},
          {"avg_power_w", nullptr},
          {"bound", "compute"},
          {"family", "gpu"},
          {"roofline",
           {{"peak_flops_per_s", 989e12}, {"mem_bw_bytes_per_s", 3.35e12}, {"mem_level", "hbm"}}},
          {"ops", {op1, op2}}};
}

ReportInputs evil_inputs() {
  ReportInputs in;
  in.runs.push_back({"runs/<evil>&\"dir\"",
                     nlohmann::json::array({evil_point("prefill", 40), evil_point("decode", 9)})});
  ReportValidation v;
  v.source = "val&<x>.csv";
  v.rows.push_back({"gemm <i>", "holdout", "\"M=1\"", "memory", 1.0, 1.1, 10.0});
  v.rows.push_back({"gemm <i>", "holdout", "M=2", "compute", 2.0, 1.9, -5.0});
  in.validations.push_back(v);
  ReportNumerics n;
  n.source = "numerics.json";
  n.rows.push_back({kEvilHw, "int8 <w8a8>", "int8 & fp32", "", true, 12.5, 1.5, 0.01, 0.99});
  in.numerics.push_back(n);
  return in;
}

TEST(Report, EscapesEveryStringFromTheData) {
  const std::string html = render_html(build_report(evil_inputs(), "report of <script>"));
  // Nothing from the data becomes markup: no script element, no event handler, no <b> or <img>.
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "<img"), 0u);
  EXPECT_EQ(count(html, "<b>"), 0u);
  EXPECT_FALSE(std::regex_search(html, std::regex("<[^>]*\\son[a-z]+\\s*=", std::regex::icase)));
  // ...and all of it is there as text.
  EXPECT_GE(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 2u);  // a row per point
  EXPECT_GT(count(html, "h&quot;100&quot; &amp; &#39;co&#39; &lt;b&gt;"), 2u);
  EXPECT_GT(count(html, "attn.qkv&lt;img src=x onerror=alert(2)&gt;"), 0u);
  EXPECT_GT(count(html, "int8 &amp; fp32"), 0u);
  // The page fetches and runs nothing, and says so to the browser.
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(count(html, "http://"), count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(count(html, "https://"), 0u);
}

TEST(Report, MarkdownEscapesTablesAndWritesChartsBeside) {
  testing::TempDir dir;
  const auto files = write_markdown(build_report(evil_inputs(), "t"), dir.path("r.md"));
  ASSERT_GT(files.size(), 3u);
  std::ifstream f(dir.path("r.md"));
  const std::string md((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(count(md, "<script"), 0u);
  EXPECT_GT(count(md, "&lt;script&gt;alert(1)&lt;/script&gt;"), 0u);
  EXPECT_GT(count(md, "](r_files/chart-01-"), 0u);
  for (const auto& p : files) EXPECT_TRUE(std::filesystem::is_regular_file(p)) << p;
}

TEST(Report, ChartsHoldOneMarkPerValue) {
  const std::string bars = svg::bar_chart("t", {"a", "b", "c"},
                                          {{"x", {1.0, 2.0, std::nullopt}}, {"y", {3.0, 4.0, 5.0}}},
                                          {"latency (ms)", true});
  EXPECT_EQ(count(bars, "class=\"mark\""), 5u);
  EXPECT_NE(bars.find("latency (ms)"), std::string::npos);  // the axis and its unit
  std::vector<svg::Point> pts;
  for (int i = 0; i < 50; ++i) pts.push_back({double(i + 1), double(100 - i), 0, i % 10 == 0, ""});
  svg::ScatterOptions o;
  o.x = {"latency (ms)", true};
  o.y = {"tokens/s", false};
  o.front_line = true;
  const std::string sc = svg::scatter("s", pts, o);
  EXPECT_EQ(count(sc, "class=\"mark\""), 50u);
  EXPECT_EQ(count(sc, "r=\"4.5\""), 5u);  // the highlighted front, drawn larger
}

TEST(Report, EveryKindOfSectionAppearsForItsInput) {
  const ReportDocument doc = build_report(evil_inputs(), "t");
  std::vector<std::string> headings;
  for (const auto& b : doc.blocks)
    if (b.kind == ReportBlock::Kind::kHeading) headings.push_back(b.text);
  for (const char* h : {"Device comparison", "Where the time goes", "Rooflines", "Numerics"})
    EXPECT_NE(std::find(headings.begin(), headings.end(), h), headings.end()) << h;
  // Energy is null in these results: no energy column, no energy chart.
  const std::string html = render_html(doc);
  EXPECT_EQ(html.find("J/token"), std::string::npos);
  ReportInputs with_energy = evil_inputs();
  for (auto& p : with_energy.runs[0].points) p["energy_j"] = 2.0;
  EXPECT_NE(render_html(build_report(with_energy, "t")).find("J/token"), std::string::npos);
}

TEST(Report, UnknownInputsAreRefusedWithWhatIsExpected) {
  testing::TempDir dir;
  const std::string csv = dir.write("x.csv", "a,b\n1,2\n");
  const std::string msg =
      testing::config_error_of([&] { load_report_inputs({csv}, ConfigStore()); });
  EXPECT_NE(msg.find("x.csv"), std::string::npos);
  EXPECT_NE(msg.find("validate --out"), std::string::npos);
  const std::string val =
      dir.write("v.csv",
                "file,line,category,set,label,measured_ms,pred_ms,error_pct,bound\n"
                "a.csv,2,gemm,holdout,M=1,1.5,1.2,-20.00,memory\n");
  const ReportInputs in = load_report_inputs({val}, ConfigStore());
  ASSERT_EQ(in.validations.size(), 1u);
  EXPECT_DOUBLE_EQ(in.validations[0].rows[0].measured_ms, 1.5);
}

// The engine's timeline: op spans are the op times, compute spans add up to the compute time,
// memory busy spans to the level's occupancy.
TEST(EngineTrace, SpansAddUpToWhatTheEngineReports) {
  EngineSpec spec;
  spec.levels.push_back({"hbm", 1e12, 1e12, 100e-9, 0});
  const std::vector<OpWork> work = {OpWork::single(1e-4, {1e8}, 1e-6),
                                    OpWork::single(1e-6, {5e8}, 2e-6)};
  EngineTrace trace;
  const auto t = simulate_ops(spec, work, nullptr, &trace);
  const auto plain = simulate_ops(spec, work);
  double compute[2] = {0, 0}, busy = 0, ops[2] = {0, 0};
  size_t dma = 0;
  for (const auto& s : trace.spans) {
    ASSERT_LE(s.start_s, s.end_s);
    if (s.track == "ops") ops[s.op] += s.end_s - s.start_s;
    if (s.track == "compute") compute[s.op] += s.end_s - s.start_s;
    if (s.track == "hbm") busy += s.end_s - s.start_s;
    dma += s.track == "dma";
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(ops[i], t[i].time_s, 1e-11);
    EXPECT_NEAR(compute[i], t[i].compute_s, 1e-11);
    EXPECT_DOUBLE_EQ(t[i].time_s, plain[i].time_s);  // recording changes nothing
  }
  EXPECT_NEAR(busy, t[0].busy_per_level[0] + t[1].busy_per_level[0], 1e-11);
  EXPECT_GT(dma, 2u);
  // The counter steps to the level's bandwidth while busy and back to 0.
  ASSERT_FALSE(trace.counters.empty());
  EXPECT_DOUBLE_EQ(trace.counters.front().value, 1e12);
  EXPECT_DOUBLE_EQ(trace.counters.back().value, 0);
}

// The multicore engine (CPUs): one compute track per core group, whose spans add up to the
// group's blocks x block time; the operator's span is its time.
TEST(EngineTrace, MulticoreGroupsHaveTracksOfTheirOwn) {
  EngineSpec spec;
  spec.levels.push_back({"dram", 1e12, 2e11, 100e-9, 0});
  ParallelWork w;
  w.overhead_s = 2e-6;
  w.groups.push_back({8, 12, 1e-6, {1e6}, {}, 2});
  w.groups.push_back({2, 5, 3e-6, {2e6}, {}, 1});
  EngineTrace trace;
  const auto t = simulate_parallel_ops(spec, {w}, nullptr, &trace);
  std::map<std::string, double> busy;
  double op = 0;
  for (const auto& s : trace.spans) {
    if (s.track.starts_with("compute")) busy[s.track] += s.end_s - s.start_s;
    if (s.track == "ops") op += s.end_s - s.start_s;
  }
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_NEAR(busy["compute: group 1"], 12 * 1e-6, 1e-11);
  EXPECT_NEAR(busy["compute: group 2"], 5 * 3e-6, 1e-11);
  EXPECT_NEAR(op, t[0].time_s, 1e-11);
  EXPECT_DOUBLE_EQ(simulate_parallel_ops(spec, {w})[0].time_s, t[0].time_s);
}

TEST(EngineTrace, CollectivesEndTogetherOnEveryDevice) {
  // Two ranks, rank 1 computes longer before the all-reduce: both leave it at the same instant.
  std::vector<std::vector<DeviceStep>> programs = {
      {DeviceStep::compute(1e-3), DeviceStep::collective(0, 1e6, 1e-6)},
      {DeviceStep::compute(3e-3), DeviceStep::collective(0, 1e6, 1e-6)}};
  programs[0][1].label = programs[1][1].label = "allreduce";
  EngineTrace trace;
  simulate_devices(programs, {"link", 0, 1e11, 1e-6, 0}, &trace);
  double end[2] = {0, 0}, start[2] = {0, 0};
  for (const auto& s : trace.spans)
    if (s.name == "allreduce") end[s.device] = s.end_s, start[s.device] = s.start_s;
  EXPECT_GT(end[0], 3e-3);
  EXPECT_DOUBLE_EQ(end[0], end[1]);
  EXPECT_LT(start[0], start[1]);  // rank 0 waited for rank 1
}

TEST(EngineTrace, TraceFileIsTraceEventJson) {
  ExperimentResult r;
  r.config.name = "t";
  PointResult p;
  p.hw = kEvilHw;
  p.model = kEvilModel;
  auto tr = std::make_shared<PointTrace>();
  tr->family = "gpu";
  tr->op_names = {"a", "b"};
  tr->op_repeat = {32, 1};
  EngineSpec spec;
  spec.levels.push_back({"hbm", 1e12, 1e12, 100e-9, 0});
  simulate_ops(spec, {OpWork::single(1e-4, {1e8}, 1e-6), OpWork::single(1e-6, {5e8}, 2e-6)},
               nullptr, &tr->engine);
  p.trace = tr;
  r.points = {p, p};
  std::ostringstream out;
  write_trace(r, out);
  const auto j = nlohmann::json::parse(out.str());
  ASSERT_TRUE(j["traceEvents"].is_array());
  double last_end_first_point = 0, first_start_second_point = 1e300;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    EXPECT_GE(e["ts"].get<double>(), 0);
    EXPECT_GE(e["dur"].get<double>(), 0);
    const double end = e["ts"].get<double>() + e["dur"].get<double>();
    if (e["pid"] == 1) last_end_first_point = std::max(last_end_first_point, end);
    if (e["pid"] == 2)
      first_start_second_point = std::min(first_start_second_point, e["ts"].get<double>());
  }
  EXPECT_GT(first_start_second_point, last_end_first_point);  // points follow one another
  EXPECT_NE(out.str().find("SMs (tensor cores)"), std::string::npos);
}

}  // namespace
}  // namespace xpusim
