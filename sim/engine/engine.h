// The SystemC engine shared by every device family: an operator is cut into tiles (CTA waves,
// systolic folds, cache blocks); a DMA process streams each tile's operands from TLM-2.0 memory
// targets (bandwidth, first-byte latency, bounded request queue) into a buffer of a few stages,
// and a compute process consumes them. Overlap, prefetch stalls and contention between the
// streams of one level come out of the simulation. Times in seconds, sizes in bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xpusim {

struct EngineTrace;

enum class Bound { kCompute, kMemory, kLatency };
std::string_view bound_name(Bound b);

// The one bound classifier of every family: the resource that accounts for most of the time;
// fixed costs (launch, fill, first-byte latency, serial latency) win when neither throughput term
// reaches half of the total. `compute_s` counts as latency when the unit's busy time is serial
// latency rather than throughput (a GPU's elementwise rows).
Bound classify_bound(double time_s, double compute_s, double memory_s, bool compute_is_latency);

struct MemLevelSpec {
  std::string name;  // "hbm", "l2", "dram", "link"
  double capacity_bytes = 0;
  double bw_bytes_per_s = 0;
  double latency_s = 0;  // first-byte latency of each request (a pipe delay, not occupancy)
  int queue_depth = 0;   // requests in flight at once; 0 = unbounded
};

struct EngineSpec {
  // levels[0] is main memory (HBM, DRAM); a chunk that reads it starts the other levels' streams
  // (caches it feeds) one main-memory latency later.
  std::vector<MemLevelSpec> levels;
  // Tiles whose operands may be loaded ahead of the compute unit (double buffering = 2).
  int buffer_stages = 2;
  // Event budget: a tile group runs as at most this many chunks (whole tiles merged, or pieces of
  // divisible tiles). The engine picks the chunk count so that the exposed first chunk costs at
  // most `fill_error` of the group's busier resource.
  int max_chunks = 64;
  double fill_error = 0.005;
};

// `tiles` identical tiles; per tile the compute unit is busy `compute_s` and each memory level
// moves `bytes[l]`.
struct TileGroup {
  double tiles = 1;
  double compute_s = 0;
  std::vector<double> bytes;       // per level, per tile (empty = none)
  std::vector<double> efficiency;  // per level: fraction of its bandwidth this access pattern
                                   // reaches (empty or 0 = 1); the level is occupied longer
  // The initiator's own load-issue rate for this group's main-memory bytes (level 0; bytes/s,
  // 0 = none): the loads that few SMs or cores keep in flight (Little's law) cap the rate below
  // the memory's.
  double issue_bytes_per_s = 0;
  // true: a tile's loads stream in finer pieces than the tile (a GPU wave's K loop), so the engine
  // may cut it into several chunks; false: a tile is the buffer's unit (a fold, a cache block).
  bool divisible = false;
  // Write-back (an output buffer drained to memory): per level, per tile, bytes that the compute
  // process sends when the tile's compute begins (results earlier tiles left in the buffer), on
  // the same memory targets as the loads; `wait_writes`: the tile's compute first waits until
  // every write sent before it has completed (the output buffer is full). Empty = none.
  std::vector<double> write_bytes;
  bool wait_writes = false;
};

// What a device asks the engine to do for one operator.
struct OpWork {
  double overhead_s = 0;  // launch/dispatch and fixed latency before the first tile
  std::vector<TileGroup> groups;
  bool compute_is_latency = false;  // see classify_bound
  // One group of `tiles` tiles sharing `compute_s` and `bytes_per_level` evenly.
  static OpWork single(double compute_s, std::vector<double> bytes_per_level, double overhead_s,
                       double tiles = 8);
};

struct OpTiming {
  double time_s = 0;
  double overhead_s = 0;
  double compute_s = 0;  // compute-unit busy time
  double memory_s = 0;   // the busiest memory level's occupancy
  double stall_s = 0;    // compute unit waiting for operands after the overhead
  std::vector<double> bytes_per_level;
  std::vector<double> busy_per_level;  // occupancy of each level, seconds
  uint64_t tiles = 0, transactions = 0;
  Bound bound = Bound::kLatency;
};

struct EngineRunStats {
  uint64_t ops = 0;
  uint64_t tiles = 0;
  uint64_t transactions = 0;
};

// Simulates `work` in order (one operator at a time, as a single stream runs them) in a fresh
// SystemC context. Throws std::invalid_argument for malformed work (a bug in the caller).
// With `trace`, the run's timeline is appended to it (trace.h): tracks "ops", "compute", "dma"
// and one per memory level; span op indices are positions in `work`.
std::vector<OpTiming> simulate_ops(const EngineSpec& spec, const std::vector<OpWork>& work,
                                   EngineRunStats* stats = nullptr, EngineTrace* trace = nullptr);

// The chunk count the engine uses for a group (exposed for tests).
int chunks_for(const EngineSpec& spec, const TileGroup& g);

}  // namespace xpusim
