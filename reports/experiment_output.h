// Renders experiment results as a terminal table, JSON lines or CSV, and writes the output
// folder (results, per-op breakdown, statistics and the fully resolved configs).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "sim/run/experiment.h"

namespace xpusim {

void print_table(const ExperimentResult& r, std::ostream& out);
void print_json_lines(const ExperimentResult& r, std::ostream& out);  // one object per point
void print_csv(const ExperimentResult& r, std::ostream& out);         // one row per point
nlohmann::ordered_json point_to_json(const PointResult& p);
// The operator list of each point (run --dump-graph) as a table, JSON lines (one object per
// point, with its ops) or CSV (one row per op of each point). format: table|json|csv.
void print_graph(const ExperimentResult& r, const std::string& format, std::ostream& out);

// Writes results.json, results.csv, ops.csv, stats.json, stats.csv and resolved/*.yaml as the
// folder `dir`, whole or not at all (see StagedFolder): an earlier run's folder is replaced, never
// mixed with the new files. Throws OutputError when it cannot be written, or when `dir` exists
// and holds anything a run does not write.
void write_output_dir(const ExperimentResult& r, const std::string& dir);
// True for a folder holding only what write_output_dir writes (or an empty one).
bool is_run_output_folder(const std::filesystem::path& dir);

}  // namespace xpusim
