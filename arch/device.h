// The device interface shared by the CPU, GPU and TPU families: a device times a list of
// operators and reports, per operator, time, cycles, bytes per memory level and the bound.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arch/area.h"
#include "arch/unit.h"
#include "sim/engine/engine.h"
#include "workloads/op.h"

namespace xpusim {

// What the energy model (arch/power.h) keeps of an op: its activity energies at the nominal voltage
// and the part of its time that follows the clock.
struct OpActivity {
  double core_j = 0;      // dynamic energy that scales with V² (compute units, caches)
  double mem_j = 0;       // dynamic energy that does not (main memory, links)
  double u = 0;           // fraction of ref_time_s that scales with the core clock
  double ref_time_s = 0;  // the time model's time for the op run on its own
  double ref_clock = 1;   // the clock (fraction of nominal) ref_time_s is at
};

// A systolic device's own figures for one operator (issue 12 item 6; SCALE-Sim's report items).
struct ArrayFigures {
  double compute_cycles = 0;  // the busiest array's cycles with no memory stalls
  double stall_cycles = 0;    // cycles the arrays (or vector unit) waited for operands
  double util = 0;            // multiply-adds / (cycles x PEs x MACs per PE of every array), 0..1
  double mapping_eff = 0;     // mean fraction of PEs the folds map, 0..1 (0 off the arrays)
  double dram_read_bytes = 0, dram_write_bytes = 0;  // device memory, one instance
};

struct OpResult {
  double time_s = 0;
  double cycles = 0;
  double flops = 0;
  double executed_flops = 0;  // what the unit executed, padding included (0: flops); for energy
  double int_ops = 0;  // integer and load/store lane-instructions on the vector unit; for energy
  std::vector<std::pair<std::string, double>> bytes_per_level;  // (level name, bytes)
  Bound bound = Bound::kLatency;
  UnitUse unit;                    // which unit ran it, and how (label() for output)
  double matrix_frac = 0;          // fraction of time_s bound by the matrix units (0..1)
  std::optional<double> energy_j;  // board energy over time_s, idle included (arch/power.h)
  std::optional<double> clock_hz;  // the core clock it ran at (under the power limit)
  OpActivity activity;
  // What the engine's modules saw for this op (the statistics tree's per-operator entries).
  double compute_busy_s = 0;  // compute unit busy
  double stall_s = 0;         // compute unit waiting for operands
  double overhead_s = 0;      // launch and fixed latency before the first tile
  std::vector<std::pair<std::string, double>> busy_per_level;  // (level, occupancy seconds)
  uint64_t tiles = 0, transactions = 0;
  std::optional<ArrayFigures> array;  // TPU family only
};

// Copies an engine timing's module statistics into `r` (levels named in engine order; levels
// without a name are left out).
void fill_engine_stats(OpResult& r, const OpTiming& t, const std::vector<std::string>& levels);

// The result for a point that cannot run (a format the hardware has no unit for, say) is an
// explanation, not an exception, so that sweeps go on past it.
struct Evaluation {
  bool ok = true;
  std::string reason;
  std::vector<OpResult> results;
};

// The roofline of a device for one number format: its matrix units' peak rate and its main
// memory's bandwidth (0 = not modelled).
struct Roofline {
  double peak_flops_per_s = 0;
  double mem_bw_bytes_per_s = 0;
  std::string mem_level;  // the main memory level's name in bytes_per_level ("hbm", "dram")
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const std::string& name() const = 0;    // preset or file name: "h100"
  virtual const std::string& family() const = 0;  // "gpu", "cpu", "tpu"
  virtual double clock_hz() const = 0;
  virtual double memory_capacity_bytes() const = 0;
  // Identifies the device's full parameter set: equal fingerprints time every op identically.
  virtual const std::string& fingerprint() const = 0;
  // Whether `unit` has an arithmetic datapath for format `d`: an op in `d` runs on it without
  // converting its operands. False for units the device does not have.
  virtual bool supports(DType d, ComputeUnit unit) const = 0;
  // The link to its peers, as the engine's link target; an ideal one (no cost) when none is
  // configured.
  virtual MemLevelSpec link_spec() const { return {"link", 0, 1e30, 0, 0}; }
  // Times `ops` (each as one launch, independent of `repeat`).
  virtual Evaluation run(const std::vector<Op>& ops) = 0;
  // Adjusts run()'s per-op results for the ops replayed back to back as one stream, in order
  // (copies of run()'s results, one per instance), for effects that depend on the sequence: the
  // power-limited clock (arch/power.h) sets each instance's time, clock and energy. Default: none.
  virtual void stream(std::vector<OpResult>& instances) const { (void)instances; }
  // The board's idle power (the energy of a device waiting), or nullopt without an energy model.
  virtual std::optional<double> idle_power_w() const { return std::nullopt; }
  // The die's first-order area (arch/area.h), or nullopt without an area model.
  virtual std::optional<AreaBreakdown> area() const { return std::nullopt; }
  virtual Roofline roofline(DType d) const {
    (void)d;
    return {};
  }
  // While set, run() appends the engine's timeline to `trace` (sim/engine/trace.h); nullptr: none.
  void set_trace(EngineTrace* trace) { trace_ = trace; }

 protected:
  EngineTrace* trace_ = nullptr;
};

}  // namespace xpusim
