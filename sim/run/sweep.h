// Design-space sweeps (`xpusim sweep`): a base experiment, parameters (key paths as --set takes
// them) with values from lists, linear or log ranges, or random / Latin-hypercube samples, crossed
// or zipped in groups; constraints, objectives and the Pareto front. Every problem of a sweep file
// is found before any point runs.
//
//   type: sweep
//   name: tpu-array-hbm
//   experiment: default                 # base experiment (preset name or file)
//   set: [hw=[tpu-v4], phases=[decode]] # fixed overrides, as --set
//   parameters:
//     - {key: hw.mxu.rows, values: [64, 128, 256]}
//     - {key: hw.hbm.bw, range: {from: 0.5 TB/s, to: 4 TB/s, steps: 4, scale: log}}
//     - {key: batch, values: [1, 8], group: b}   # one group: zipped, groups crossed
//   sampling: {method: grid|random|lhs, count: 100, seed: 1}
//   constraints: [ok, ttft_ms <= 200]
//   objectives: [{minimize: latency_ms}, {maximize: tokens_per_s}]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/base/errors.h"
#include "sim/config/config_tree.h"

namespace xpusim {

struct SweepParam {
  std::string key;  // an --set assignment's left side: hw.hbm.bw, hw[h100].sm.count, batch
  std::vector<std::string> values;  // lists and ranges, written as --set values
  // Sampled (random / lhs): a continuous or integer interval, linear or log.
  bool sampled = false;
  double lo = 0, hi = 0;
  bool log = false, integer = false;
  std::string suffix;  // the unit written after the numbers ("TB/s"), kept on each value
  std::string group;   // parameters of one group are zipped; groups are crossed
  SourceLoc loc;
};

struct SweepConstraint {
  std::string metric;  // a column of the result rows (sweep_metrics()), or "ok"
  std::string op;      // <=, <, >=, >, ==; empty for "ok"
  double value = 0;
  std::string text;
  SourceLoc loc;
};

struct SweepObjective {
  std::string metric;
  bool maximize = false;
};

struct SweepConfig {
  std::string name;
  std::string experiment = "default";
  SourceLoc experiment_loc;
  std::vector<std::string> set;
  std::vector<SweepParam> params;
  std::string method = "grid";  // grid | random | lhs
  int64_t count = 0;            // samples (random, lhs)
  uint64_t seed = 1;
  std::vector<SweepConstraint> constraints;
  std::vector<SweepObjective> objectives;
};

// The numeric columns a result row has, with their meaning, for constraints and objectives.
struct SweepMetric {
  const char* name;
  const char* help;
  bool modelled;  // false: named by the issue but not modelled yet (an error to use)
};
const std::vector<SweepMetric>& sweep_metrics();

// Parses and checks a sweep file; throws ConfigError listing every problem with its position.
SweepConfig parse_sweep(const CfgNode& tree);

// How many design points the sweep has (grid: the product over groups).
uint64_t sweep_size(const SweepConfig& s);

// One design point: its index and the --set assignments that make it.
struct SweepPoint {
  uint64_t index = 0;
  std::vector<std::string> assignments;  // "key=value"
};
std::vector<SweepPoint> expand_sweep(const SweepConfig& s);

// One result row's metric values by name (nullopt: not available for this row).
using MetricRow = std::vector<std::optional<double>>;  // indexed like sweep_metrics()
std::optional<size_t> metric_index(const std::string& name);

// True when the row meets every constraint (a constraint on a missing value fails).
bool feasible(const SweepConfig& s, bool ok, const MetricRow& row);
// Indices of the rows on the Pareto front of the objectives among `candidates` (feasible rows);
// rows with equal objective vectors are all on the front.
std::vector<size_t> pareto_front(const std::vector<SweepObjective>& objectives,
                                 const std::vector<MetricRow>& rows,
                                 const std::vector<size_t>& candidates);

}  // namespace xpusim
