// Recognises and reads the inputs of `xpusim report` (report_inputs.h).
#include "reports/report_inputs.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "sim/base/csv.h"
#include "sim/base/file_read.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

const char* kKinds =
    "expected a run output folder (results.json), a results.json file, a sweep store "
    "(.sqlite/.db), a sweep file or name, a `validate --out` CSV or a `numerics --format "
    "json|csv` output";

[[noreturn]] void bad_input(const std::string& path, const std::string& why) {
  throw ConfigError(SourceLoc{path, 0, 0}, "", fmt::format("{}: {}", why, kKinds));
}

std::optional<double> number_at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<double> number_text(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

void load_results_json(const std::string& path, const std::string& source, ReportInputs& in) {
  const std::string text = read_file_bounded(path, "report", kMaxTableFileBytes);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) bad_input(path, "not a JSON array of run results");
  for (const auto& p : j)
    if (!p.is_object() || !p.contains("hw") || !p.contains("phase"))
      bad_input(path, "an element is not a run result (no hw or phase)");
  in.runs.push_back({source, std::move(j)});
}

// For a store alone, or a sweep file without objectives: the two every row has.
std::vector<SweepObjective> default_objectives() {
  return {{"latency_ms", false}, {"tokens_per_s", true}};
}

// Rows of a store's sweep with the front of `objectives` per phase among the points that ran.
void add_sweep(const std::string& source, const std::string& name, std::vector<SweepRow> rows,
               std::vector<SweepObjective> objectives, bool given, ReportInputs& in) {
  if (!given) {
    std::vector<MetricRow> metrics;
    std::map<std::string, std::vector<size_t>> candidates;
    for (size_t i = 0; i < rows.size(); ++i) {
      metrics.push_back(rows[i].metrics);
      if (rows[i].ok) candidates[rows[i].row.value("phase", "")].push_back(i);
    }
    for (const auto& [phase, c] : candidates)
      for (size_t i : pareto_front(objectives, metrics, c)) rows[i].pareto = true;
  }
  in.sweeps.push_back({source, name, std::move(rows), std::move(objectives), given});
}

void load_store(const std::string& path, ReportInputs& in) {
  SweepStore db(path);
  const auto names = db.sweeps();
  if (names.empty()) bad_input(path, "the sweep store holds no sweep");
  for (const auto& n : names)
    add_sweep(path, n, stored_rows(n, db), default_objectives(), false, in);
}

void load_validation_csv(const CsvTable& t, ReportInputs& in) {
  ReportValidation v;
  v.source = t.file;
  const int cat = t.column("category"), set = t.column("set"), label = t.column("label"),
            meas = t.column("measured_ms"), pred = t.column("pred_ms"), err = t.column("error_pct"),
            bound = t.column("bound");
  for (const auto& r : t.rows) {
    auto at = [&](int c) { return c >= 0 && c < int(r.fields.size()) ? r.fields[c].text : ""; };
    ReportValidationRow row;
    row.category = at(cat);
    row.set = at(set);
    row.label = at(label);
    row.bound = at(bound);
    const auto m = number_text(at(meas));
    if (!m) throw ConfigError(t.loc(r, meas), "measured_ms", "not a number");
    row.measured_ms = *m;
    row.pred_ms = number_text(at(pred));
    row.error_pct = number_text(at(err));
    v.rows.push_back(std::move(row));
  }
  in.validations.push_back(std::move(v));
}

ReportNumericsRow numerics_row(const nlohmann::json& j) {
  ReportNumericsRow r;
  r.hw = j.value("hw", "");
  r.scheme = j.value("scheme", "");
  r.datapath = j.value("datapath", "");
  r.ok = j.value("ok", false);
  r.error = j.value("error", "");
  r.perplexity = number_at(j, "perplexity");
  r.perplexity_delta_pct = number_at(j, "perplexity_delta_pct");
  r.logit_rel_err = number_at(j, "logit_rel_err");
  r.top1_agreement = number_at(j, "top1_agreement");
  return r;
}

void load_numerics_csv(const CsvTable& t, ReportInputs& in) {
  ReportNumerics n;
  n.source = t.file;
  for (const auto& r : t.rows) {
    nlohmann::json j;
    for (size_t c = 0; c < t.header.size() && c < r.fields.size(); ++c) {
      const std::string& text = r.fields[c].text;
      if (auto v = number_text(text); v && t.header[c] != "hw" && t.header[c] != "scheme")
        j[t.header[c]] = *v;
      else if (t.header[c] == "ok")
        j["ok"] = text == "true" || text == "1";
      else
        j[t.header[c]] = text;
    }
    n.rows.push_back(numerics_row(j));
  }
  in.numerics.push_back(std::move(n));
}

void load_file(const std::string& path, ReportInputs& in) {
  const std::string name = fs::path(path).filename().string();
  if (path.ends_with(".sqlite") || path.ends_with(".db")) return load_store(path, in);
  if (path.ends_with(".csv")) {
    const CsvTable t = read_csv_file(path, "report");
    if (t.column("measured_ms") >= 0 && t.column("pred_ms") >= 0 && t.column("category") >= 0)
      return load_validation_csv(t, in);
    if (t.column("scheme") >= 0 && t.column("datapath") >= 0) return load_numerics_csv(t, in);
    bad_input(path,
              "a CSV file with neither validate's columns (category, measured_ms, "
              "pred_ms) nor numerics' (scheme, datapath)");
  }
  if (path.ends_with(".json") || path.ends_with(".jsonl")) {
    const std::string text = read_file_bounded(path, "report", kMaxTableFileBytes);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') return load_results_json(path, path, in);
    // JSON lines: numerics' rows.
    ReportNumerics n;
    n.source = path;
    std::istringstream lines(text);
    std::string line;
    int no = 0;
    while (std::getline(lines, line)) {
      ++no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("scheme") || !j.contains("datapath"))
        throw ConfigError(SourceLoc{path, no, 1}, "",
                          fmt::format("not a numerics result line (an object with scheme and "
                                      "datapath); {}",
                                      kKinds));
      n.rows.push_back(numerics_row(j));
    }
    in.numerics.push_back(std::move(n));
    return;
  }
  bad_input(path, fmt::format("'{}' is not a kind of result `report` reads", name));
}

}  // namespace

ReportInputs load_report_inputs(const std::vector<std::string>& paths, const ConfigStore& store) {
  ReportInputs in;
  std::vector<ConfigIssue> issues;
  for (const auto& path : paths) {
    collect_config_errors(issues, [&] {
      std::error_code ec;
      if (fs::is_directory(path, ec)) {
        if (!fs::is_regular_file(fs::path(path) / "results.json", ec))
          bad_input(path, "a folder without results.json");
        return load_results_json((fs::path(path) / "results.json").string(), path, in);
      }
      if (fs::exists(path, ec) && !path.ends_with(".yaml") && !path.ends_with(".yml"))
        return load_file(path, in);
      // A sweep file or a sweep preset's name: its store, its constraints and objectives.
      const SweepConfig sweep = parse_sweep(store.load(path, "sweeps"));
      const std::string db_path = default_sweep_store(sweep.name);
      if (!fs::is_regular_file(db_path, ec))
        throw ConfigError(
            SourceLoc{path, 0, 0}, "",
            fmt::format("no store at {} (run `xpusim sweep {}` first)", db_path, path));
      SweepStore db(db_path);
      const bool given = !sweep.objectives.empty();
      add_sweep(db_path, sweep.name, sweep_rows(sweep, db),
                given ? sweep.objectives : default_objectives(), given, in);
    });
  }
  if (!issues.empty()) throw ConfigError(issues);
  return in;
}

}  // namespace xpusim
