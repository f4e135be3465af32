// The engine for multicore processors: the cores that run one operator work as concurrent
// processes, each streaming its own blocks (cache blocks of a GEMM, slices of an elementwise
// pass) through the shared memory levels (DRAM, LLC) while it computes. Identical cores (the
// same block count and block cost) run as one core group: a process whose loads are the sum of
// its cores' loads and whose compute time is one core's. Contention for the shared levels, the
// per-core load rate (the misses a core keeps in flight over the DRAM latency) and load
// imbalance between groups come out of the simulation; the operator ends when its slowest group
// does (the join). Times in seconds, sizes in bytes.
#pragma once

#include <vector>

#include "sim/engine/engine.h"

namespace xpusim {

struct CoreGroup {
  int cores = 1;          // identical cores in the group
  double blocks = 0;      // blocks per core
  double compute_s = 0;   // per block, per core: the core's busy time (math, packing, L1/L2)
  std::vector<double> bytes;  // per block, per core, per shared level (EngineSpec::levels)
  // One core's load rate from each shared level (bytes/s; missing or 0 = unlimited): the misses
  // it keeps in flight x line size / that level's latency (Little's law).
  std::vector<double> core_bytes_per_s;
  // Blocks whose loads may run ahead of the core's compute: 2 = loads overlap compute (hardware
  // prefetch of a streamed operand); 1 = the core loads a block, then computes it (a packing
  // routine that copies the block before the kernel runs).
  int stages = 2;
};

struct ParallelWork {
  double overhead_s = 0;  // dispatch, fork and join of the parallel region
  std::vector<CoreGroup> groups;
};

// Simulates the operators in order (one at a time: the next starts after the previous join) in
// a fresh SystemC context; levels are shared by every group. Throws std::invalid_argument for
// malformed work.
// With `trace`, the timeline is appended to it (trace.h): tracks "ops", "compute: group <g>"
// per core group slot (span names: "<n> cores"), "dma" (each chunk's loads) and one per shared level.
std::vector<OpTiming> simulate_parallel_ops(const EngineSpec& spec,
                                            const std::vector<ParallelWork>& work,
                                            EngineRunStats* stats = nullptr,
                                            EngineTrace* trace = nullptr);

}  // namespace xpusim
