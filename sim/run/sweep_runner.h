// Runs a sweep into its store: resolves every point first (so every configuration error is
// reported before anything runs, and each point gets its canonical key), links points whose key
// is stored already, and computes the rest in this process or in `jobs` forked workers, this
// process being the only writer of the store. A worker that dies loses only its point in flight,
// which is handed out again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/config/config_store.h"
#include "sim/run/sweep.h"
#include "sim/run/sweep_store.h"

namespace xpusim {

struct SweepRunOptions {
  bool resume = false;
  int jobs = 1;
  std::string reference_model;  // for the numerics column, as run's
  // done, total, and the best row so far (text), after each finished point.
  std::function<void(size_t, size_t, const std::string&)> progress;
  // Shards for job arrays: this process takes the points with index % shard_count == shard.
  int shard = 0, shard_count = 1;
  // Computes the points of these indices elsewhere (MPI ranks, sweep_mpi.h), calling `done` in
  // this process for each finished one; unset: in this process or in `jobs` forked workers.
  using Done = std::function<void(uint64_t index, const std::string& rows_json)>;
  std::function<void(const std::vector<uint64_t>&, const Done&)> dispatch;
};

class ExperimentRunner;

// Computes design points of one sweep in this process (the serial path, forked workers and MPI
// ranks alike): a point's rows as JSON text, or {"error": ...}. One runner is kept between
// points; its op cache is keyed by the device's fingerprint, so other hardware never shares a
// result.
class SweepPointComputer {
 public:
  SweepPointComputer(const ConfigStore& store, const SweepConfig& sweep,
                     const std::string& reference_model);
  ~SweepPointComputer();
  std::string operator()(uint64_t index);

 private:
  const ConfigStore& store_;
  const SweepConfig& sweep_;
  std::vector<SweepPoint> points_;
  std::unique_ptr<ExperimentRunner> runner_;
};

struct SweepRunSummary {
  size_t points = 0, computed = 0, reused = 0, already_done = 0;
};

// Resolves the given points of a sweep (every hardware, model and experiment file, with the
// point's assignments) without running them, calling `each` with each point's canonical key;
// throws ConfigError listing the problems (at most 20), each naming its point.
void resolve_sweep_points(const ConfigStore& store, const SweepConfig& sweep,
                          const std::vector<const SweepPoint*>& points,
                          const std::string& reference_model,
                          const std::function<void(const SweepPoint&, const std::string&)>& each);

SweepRunSummary run_sweep(const ConfigStore& store, const SweepConfig& sweep, SweepStore& db,
                          const SweepRunOptions& options);

// One result row of a sweep: a (hardware, model, phase, scheme) row of a design point.
struct SweepRow {
  long long index = 0;
  std::vector<std::string> assignments;
  nlohmann::ordered_json row;  // point_to_json without ops
  MetricRow metrics;
  bool ok = false, feasible = false, pareto = false;
};
// The rows of the sweep's recorded points, with constraints and the Pareto front (one per phase)
// applied.
std::vector<SweepRow> sweep_rows(const SweepConfig& sweep, const SweepStore& db);
// The same for a store alone (export): no constraints, no objectives.
std::vector<SweepRow> stored_rows(const std::string& sweep_name, const SweepStore& db);

// CSV (one row per result row: index, parameters, hw, model, phase, quant, metrics, ok, feasible,
// pareto, error) and JSON (an array of the same objects).
void write_sweep_csv(const std::vector<SweepRow>& rows, std::ostream& out);
void write_sweep_json(const std::vector<SweepRow>& rows, std::ostream& out);

}  // namespace xpusim
