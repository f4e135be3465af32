// The SystemC engine: runs a sequence of operators through compute-unit and TLM memory modules
// at tile granularity (never per cycle) and returns each operator's time and resource use.
// Times are in seconds, sizes in bytes, rates in bytes/s.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xpusim {

enum class Bound { kCompute, kMemory, kLatency };
std::string_view bound_name(Bound b);

struct MemLevelSpec {
  std::string name;  // "hbm", "dram"
  double capacity_bytes = 0;
  double bw_bytes_per_s = 0;
  double latency_s = 0;  // first-byte latency of one request stream
};

struct EngineSpec {
  std::vector<MemLevelSpec> levels;
  int tiles_per_op = 8;   // pipeline depth of the tile stream (event budget per op)
  int buffer_stages = 2;  // tiles in flight between memory and compute (double buffering)
};

// What a device asks the engine to do for one operator.
struct OpWork {
  double compute_s = 0;                 // busy time of the compute unit at its rate for this op
  std::vector<double> bytes_per_level;  // one entry per EngineSpec level
  double overhead_s = 0;                // launch/dispatch cost before the first tile
};

struct OpTiming {
  double time_s = 0;
  double compute_s = 0;
  double memory_s = 0;  // the busiest memory level's transfer time
  double overhead_s = 0;
  std::vector<double> bytes_per_level;
  Bound bound = Bound::kLatency;
};

struct EngineRunStats {
  uint64_t ops = 0;
  uint64_t tiles = 0;
  uint64_t transactions = 0;
};

// Simulates `work` in order (one operator at a time, as a single stream would run them) in a
// fresh SystemC context. Throws std::invalid_argument for malformed work (a bug in the caller).
std::vector<OpTiming> simulate_ops(const EngineSpec& spec, const std::vector<OpWork>& work,
                                   EngineRunStats* stats = nullptr);

}  // namespace xpusim
