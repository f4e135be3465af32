// Renders experiment results as a terminal table, JSON lines or CSV, and writes the output
// folder (results, per-op breakdown, statistics and the fully resolved configs).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "sim/run/experiment.h"

namespace xpusim {

void print_table(const ExperimentResult& r, std::ostream& out);
void print_json_lines(const ExperimentResult& r, std::ostream& out);  // one object per point
void print_csv(const ExperimentResult& r, std::ostream& out);         // one row per point
nlohmann::ordered_json point_to_json(const PointResult& p);

// Writes results.json, results.csv, ops.csv, stats.json, stats.csv and resolved/*.yaml into
// `dir` (created if needed). Throws ConfigError when the folder cannot be written.
void write_output_dir(const ExperimentResult& r, const std::string& dir);

}  // namespace xpusim
