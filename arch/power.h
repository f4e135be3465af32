// Energy, power and the power-limited clock, one method for every family (issue 14). An op's
// energy is what the whole board (chip and its memory) draws over its time, idle power included,
// as a GPU's total-energy counter counts it. Joules, watts, seconds; clocks as fractions of the
// nominal clock.
//
//   E(f) = idle·T(f) + active·f·s(f)·T(f) + Σ_unit ops·e_op·s(f) + cache_bytes·e_cache·s(f)
//          + main_memory_bytes·e_mem + link_bytes·e_link
//   s(f) = (V(f)/V0)², V(f)/V0 = floor + (1 − floor)·f        (switching energy goes as V²)
//   T(f) = T_ref·((1 − u) + u·f_ref/f)                          (u: the clock-bound fraction)
//
// The power cap: when E/T at the nominal clock exceeds `tdp`, the clock drops until it fits, and
// the clock-bound part of the time stretches. In a stream of ops (a forward pass, a captured
// graph) the limiter holds the running average of the power (time constant power.window) under
// the cap, so short compute-heavy ops between light ones keep more of the clock.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "arch/device.h"
#include "sim/config/schema.h"
#include "workloads/op.h"

namespace xpusim {

// Dynamic energy per operation and per byte, at the nominal clock and voltage.
struct EnergyConfig {
  // Matrix unit (tensor core, MXU, AMX) per operation (a multiply-add = 2), by format.
  double fp32 = 0, tf32 = 0, bf16 = 0, fp16 = 0, fp8 = 0, int8 = 0, int4 = 0;
  double vector_j = 0;       // vector/SIMD unit (CUDA-core FFMA, AVX-512, VPU), per FP32 op
  double int_op_j = 0;       // vector/SIMD unit per integer or load/store lane-instruction (0: vector_j)
  double main_memory_j = 0;  // per byte of main memory (HBM, DRAM): array, PHY, controller
  double cache_j = 0;        // per byte through the last-level cache / on-chip SRAM
  double link_j = 0;         // per byte on the links between devices
  double matrix(DType d) const;
};

struct PowerConfig {
  double idle_w = 0;       // board power with nothing running (clocks up, context alive)
  double active_w = 0;     // extra while any op runs, at the nominal clock (clock tree, issue)
  double voltage_floor = 0.6;  // V(f)/V0 extrapolated to f = 0 (linear V–f curve)
  double min_clock = 0.3;      // lowest clock the limiter goes to (fraction of nominal)
  double window_s = 0;         // time constant of the limiter's average power (0: per op)
  double timing_tdp_w = 0;     // the cap under which the time model was fitted (0: none)
};

template <class Cfg, class... M>
void declare_energy(Schema<Cfg>& s, const std::string& calibrated_on, M... path) {
  // `fitted`: the energy dataset measures it (fp16, int4 and links are not measured).
  auto op = [&](const char* f, double EnergyConfig::*field, bool fitted) {
    s.quantity(std::string("energy.") + f, Unit::kJoules, "0 J", Range{0, 1e-9},
               std::string("matrix-unit energy per ") + f +
                   " operation (a multiply-add = 2) at the nominal clock and voltage",
               path..., field);
    if (fitted && !calibrated_on.empty()) s.calibrated(calibrated_on);
  };
  op("fp32", &EnergyConfig::fp32, false);
  op("tf32", &EnergyConfig::tf32, true);
  op("bf16", &EnergyConfig::bf16, true);
  op("fp16", &EnergyConfig::fp16, false);
  op("fp8", &EnergyConfig::fp8, true);
  op("int8", &EnergyConfig::int8, true);
  op("int4", &EnergyConfig::int4, false);
  auto per = [&](const char* key, const char* help, double EnergyConfig::*field, bool fitted) {
    s.quantity(std::string("energy.") + key, Unit::kJoules, "0 J", Range{0, 1e-9}, help, path...,
               field);
    if (fitted && !calibrated_on.empty()) s.calibrated(calibrated_on);
  };
  per("vector", "vector/SIMD-unit energy per FP32 operation (CUDA-core FFMA, AVX-512, VPU)",
      &EnergyConfig::vector_j, true);
  per("int_op",
      "vector/SIMD-unit energy per integer or load/store lane-instruction (address arithmetic, "
      "narrow loads: OpResult::int_ops); 0 = energy.vector",
      &EnergyConfig::int_op_j, true);
  per("main_memory", "energy per byte read or written in main memory (HBM, DRAM)",
      &EnergyConfig::main_memory_j, true);
  per("cache", "energy per byte through the last-level cache or on-chip SRAM (L2, LLC, CMEM)",
      &EnergyConfig::cache_j, true);
  per("link", "energy per byte sent on the links between devices", &EnergyConfig::link_j, false);
}

// `window_on`: the dataset power.window is fitted on (the GPU's: the H100 e2e timing stacks).
template <class Cfg, class... M>
void declare_power(Schema<Cfg>& s, const std::string& calibrated_on, const std::string& window_on,
                   M... path) {
  auto fitted = [&] {
    if (!calibrated_on.empty()) s.calibrated(calibrated_on);
  };
  s.quantity("power.idle", Unit::kWatts, "0 W", Range{0, 1e5},
             "board power with nothing running (clocks up, memory refreshed); 0 = no energy model",
             path..., &PowerConfig::idle_w);
  fitted();
  s.quantity("power.active", Unit::kWatts, "0 W", Range{0, 1e5},
             "extra power while any op runs, at the nominal clock (clock tree, instruction issue); "
             "scales as f·V²",
             path..., &PowerConfig::active_w);
  fitted();
  s.real("power.voltage_floor", "0.6", Range{0.2, 0.9},
         "supply voltage extrapolated to zero clock, as a fraction of the nominal clock's (linear "
         "V–f curve; switching energy goes as V²); a GPU's DVFS table spans about 0.7-1.0 of its "
         "top voltage over 0.5-1.0 of its top clock, i.e. 0.2-0.5",
         path..., &PowerConfig::voltage_floor);
  fitted();
  s.real("power.min_clock", "0.3", Range{0.05, 1},
         "lowest clock the power limiter goes to, as a fraction of the nominal clock", path...,
         &PowerConfig::min_clock);
  s.quantity("power.window", Unit::kSeconds, "0 s", Range{0, 1},
             "time constant over which the power limiter averages the power (0: each op alone)",
             path..., &PowerConfig::window_s);
  if (!window_on.empty()) s.calibrated(window_on);
  s.quantity("power.timing_tdp", Unit::kWatts, "0 W", Range{0, 1e5},
             "the power limit under which the time model's rates were fitted on sustained runs "
             "(their time is at the clock this limit gives); 0 = the rates are at the nominal clock",
             path..., &PowerConfig::timing_tdp_w);
}

// The fraction of an engine timing that follows the core clock: the compute unit's busy time
// when it exceeds the busiest memory level's (a compute-bound op), else none.
inline double clock_bound_fraction(double time_s, double compute_s, double memory_s) {
  return time_s > 0 && compute_s > memory_s ? std::min(1.0, compute_s / time_s) : 0.0;
}

class PowerModel {
 public:
  PowerModel() = default;
  PowerModel(EnergyConfig e, PowerConfig p, double tdp_w)
      : e_(e), p_(p), tdp_w_(tdp_w) {}
  // False when the preset gives no energy parameters (power.idle = 0): energies stay empty.
  bool enabled() const { return p_.idle_w > 0; }
  const PowerConfig& power() const { return p_; }
  double tdp_w() const { return tdp_w_; }

  // The op's activity energies from its counts: FLOPs on its unit, bytes per memory level (level
  // 0 of `levels` is main memory; "link" the link; others on-chip).
  OpActivity activity(const Op& op, const OpResult& r, double u) const;
  // The clock at which the time model's time holds: 1, or what power.timing_tdp allows.
  double reference_clock(const OpActivity& a) const;
  double voltage2(double f) const;  // s(f)
  double time_at(const OpActivity& a, double f) const;
  double power_at(const OpActivity& a, double f) const;
  // The highest clock <= 1 whose power fits `cap_w` (min_clock if none does).
  double capped_clock(const OpActivity& a, double cap_w) const;
  // Runs the op on its own, back to back (sustained): sets time_s, cycles, energy_j, clock_hz
  // and the activity; `nominal_hz` is the nominal clock. `at_nominal`: the op's time holds at the
  // nominal clock (its compute time comes from instruction counts), whatever power.timing_tdp.
  // `min_ref_clock`: the lowest clock at which that time can hold (the unit's peak rate), a
  // floor on the reference clock.
  void sustained(const Op& op, OpResult& r, double u, double nominal_hz,
                 bool at_nominal = false, double min_ref_clock = 0) const;
  // A stream of op instances replayed back to back (each result already from sustained()):
  // the limiter's clock follows the running average power; sets each instance's time_s,
  // energy_j and clock_hz (the mean over the instance).
  void stream(std::vector<OpResult>& seq, double nominal_hz) const;

 private:
  EnergyConfig e_;
  PowerConfig p_;
  double tdp_w_ = 0;
};

}  // namespace xpusim
