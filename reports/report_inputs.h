// What `xpusim report` reads: run output folders (results.json), sweep stores (SQLite) or sweep
// files, validation results (`validate --out` CSV) and numerics results (`numerics --format
// json|csv`). The kind of each input is recognised from what it is, not from its name alone.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/config/config_store.h"
#include "sim/run/sweep.h"
#include "sim/run/sweep_runner.h"

namespace xpusim {

struct ReportRun {
  std::string source;
  nlohmann::json points;  // results.json: one object per point, with its ops
};

struct ReportSweep {
  std::string source, name;
  std::vector<SweepRow> rows;
  std::vector<SweepObjective> objectives;  // the sweep file's, or latency/tokens/s for a store
  bool objectives_given = false;           // from the sweep file
};

struct ReportValidationRow {
  std::string category, set, label, bound;
  double measured_ms = 0;
  std::optional<double> pred_ms, error_pct;
};
struct ReportValidation {
  std::string source;
  std::vector<ReportValidationRow> rows;
};

struct ReportNumericsRow {
  std::string hw, scheme, datapath, error;
  bool ok = false;
  std::optional<double> perplexity, perplexity_delta_pct, logit_rel_err, top1_agreement;
};
struct ReportNumerics {
  std::string source;
  std::vector<ReportNumericsRow> rows;
};

struct ReportInputs {
  std::vector<ReportRun> runs;
  std::vector<ReportSweep> sweeps;
  std::vector<ReportValidation> validations;
  std::vector<ReportNumerics> numerics;
};

// Reads every input; throws ConfigError for an input that is none of these (saying what each
// kind looks like) or that cannot be parsed.
ReportInputs load_report_inputs(const std::vector<std::string>& paths, const ConfigStore& store);

}  // namespace xpusim
