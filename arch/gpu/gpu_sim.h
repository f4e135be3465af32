// The GPU as SystemC modules: a CTA scheduler launches kernels one after another (one stream),
// an SM array runs each kernel's waves, and L2, HBM and the NVLink port are TLM-2.0 targets
// whose bandwidth the waves share. Events happen per kernel and per wave group, never per cycle.
// Times in seconds.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/gpu/gpu_kernels.h"

namespace xpusim {

struct GpuSimSpec {
  int64_t sms = 0;
  double hbm_bw_bytes_per_s = 0;  // achievable (peak × efficiency)
  double hbm_latency_s = 0;
  double l2_bw_bytes_per_s = 0;
  double link_bw_bytes_per_s = 0;  // 0 = no link (collectives are then refused at planning)
};

struct KernelTiming {
  double time_s = 0;
  double fixed_s = 0;    // launch + fill
  double compute_s = 0;  // SM busy time summed over waves
  double memory_s = 0;   // the busiest memory path's time summed over waves
  double hbm_bytes = 0, l2_bytes = 0, link_bytes = 0;
};

struct GpuSimStats {
  uint64_t kernels = 0, wave_groups = 0, transactions = 0;
};

// Runs `plans` in order in a fresh SystemC context. Every plan must be ok.
std::vector<KernelTiming> simulate_kernels(const GpuSimSpec& spec,
                                           const std::vector<KernelPlan>& plans,
                                           GpuSimStats* stats = nullptr);

}  // namespace xpusim
