// How a TPU runs one operator: GEMMs and attention as systolic folds split over every array of
// every core, elementwise work on the vector unit, collectives on the link; the result is the
// engine work (tiles = folds of the busiest array, with each fold's HBM bytes) plus the array's
// own figures (compute cycles, mapping efficiency). Times in seconds, cycles at the core clock.
#pragma once

#include <string>
#include <vector>

#include "arch/tpu/tpu_config.h"
#include "arch/unit.h"
#include "sim/engine/engine.h"
#include "workloads/op.h"

namespace xpusim {

// The engine's memory levels: HBM (one shared port, or three ports ifmap/filter/ofmap when
// hbm.per_operand), then the link. hbm.mode stall_free gives HBM unbounded bandwidth and no
// latency, so it never stalls the arrays.
std::vector<MemLevelSpec> tpu_levels(const TpuConfig& c);
size_t tpu_link_level(const TpuConfig& c);  // index of the link in tpu_levels

struct TpuOpPlan {
  bool ok = true;
  std::string reason;  // why it cannot run (when !ok)
  UnitUse unit;
  OpWork work;
  // Array cycles of the busiest array with no stalls (0 for ops off the arrays), and the mean
  // fraction of PEs its folds map (0..1).
  double compute_cycles = 0;
  double mapping_eff = 0;
  double macs = 0;                 // multiply-adds on the arrays
  double peak_macs_per_cycle = 0;  // of every array together (0 for ops off the arrays)
  // Device-memory bytes read and written, one instance (both inside and outside the op's time).
  double dram_read_bytes = 0, dram_write_bytes = 0;
  // Bytes per level that move outside the operator's time (hbm.overlap_ops: the first input fill
  // and the final output drain); they count in its traffic, not in the engine's stream.
  std::vector<double> off_op_bytes;
};

TpuOpPlan plan_tpu_op(const TpuConfig& c, const Op& op);

}  // namespace xpusim
