// Helpers shared by the kernel models (internal to arch/gpu): rounding, the achievable bandwidths
// and the wave builder for grids of identical CTAs.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "arch/gpu/gpu_kernels.h"

namespace xpusim::gpu_detail {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The largest power of two (at most 2^20) that divides a byte count; 1 for odd or fractional ones.
inline double lowest_power_of_two(double bytes) {
  double p = 1;
  while (p < 1048576 && std::fmod(bytes, 2 * p) == 0) p *= 2;
  return p;
}

inline double hbm_bw(const GpuConfig& c) { return c.hbm.bw_bytes_per_s * c.hbm_efficiency; }
inline double sm_load_bw(const GpuConfig& c) { return c.sm.load_bytes_per_clk * c.clock_hz; }

// Adds the full waves and the tail wave of a grid of identical CTAs. `cta_s` is the SM time
// of one CTA when it has the SM to itself; co-resident CTAs share the SM's throughput. A CTA
// takes at least `cta_floor_s` (a latency that co-resident CTAs wait out together).
inline void add_uniform_waves(const GpuConfig& c, KernelPlan& p, double cta_s, double hbm_total,
                              double l2_total, double load_bw_per_sm, double cta_floor_s = 0) {
  const int64_t S = c.sm.count;
  const int64_t slots = S * p.ctas_per_sm;
  WaveSplit ws = split_waves(p.ctas, slots);
  const double per_cta_hbm = hbm_total / double(p.ctas), per_cta_l2 = l2_total / double(p.ctas);
  if (ws.full > 0)
    p.groups.push_back({ws.full, S, std::max(double(p.ctas_per_sm) * cta_s, cta_floor_s),
                        per_cta_hbm * double(slots), per_cta_l2 * double(slots), load_bw_per_sm});
  if (ws.tail_ctas > 0)
    p.groups.push_back({1, std::min(S, ws.tail_ctas),
                        std::max(double(ceil_div(ws.tail_ctas, S)) * cta_s, cta_floor_s),
                        per_cta_hbm * double(ws.tail_ctas), per_cta_l2 * double(ws.tail_ctas),
                        load_bw_per_sm});
}

inline KernelPlan unsupported(std::string why) {
  KernelPlan p;
  p.ok = false;
  p.reason = std::move(why);
  return p;
}

}  // namespace xpusim::gpu_detail
