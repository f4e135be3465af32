// The energy model and the power-limited clock shared by every family (see power.h for the
// equations). Joules, watts, seconds; clocks as fractions of the nominal clock.
#include "arch/power.h"

#include <algorithm>
#include <cmath>

#include "arch/dtype_rates.h"

namespace xpusim {

double EnergyConfig::matrix(DType d) const {
  // The same per-format lookup as a unit's rate table.
  return DtypeRates{fp32, tf32, bf16, fp16, fp8, int8, int4, false}.per_clk(d);
}

OpActivity PowerModel::activity(const Op& op, const OpResult& r, double u) const {
  OpActivity a;
  a.u = std::clamp(u, 0.0, 1.0);
  a.ref_time_s = r.time_s;
  // The unit's work: the matrix unit per operation of the format it computes in (int4 weights
  // expanded to bf16, fp8 upcast to bf16, int4 to int8); 2:4 skips half the products.
  double op_j = 0;
  switch (r.unit.unit) {
    case ComputeUnit::kTensorCore:
    case ComputeUnit::kMxu:
    case ComputeUnit::kAmx: {
      DType d = op.dtype;
      if (r.unit.path == UnitPath::kInt4AsBf16 || r.unit.path == UnitPath::kFp8AsBf16)
        d = DType::kBf16;
      else if (r.unit.path == UnitPath::kInt4AsInt8)
        d = DType::kInt8;
      op_j = e_.matrix(d) * (r.unit.path == UnitPath::kSparse24 ? 0.5 : 1.0);
      break;
    }
    case ComputeUnit::kCudaCore:
    case ComputeUnit::kSimd:
    case ComputeUnit::kVpu:
    case ComputeUnit::kVector:
      op_j = e_.vector_j;
      break;
    case ComputeUnit::kNone:
    case ComputeUnit::kLink:
      break;
  }
  // An op counted in integer/load lane-instructions (int_ops: an unvectorised kernel's address
  // arithmetic and narrow loads) has its few FP32 operations among them.
  const double flops = r.executed_flops > 0 ? r.executed_flops : r.int_ops > 0 ? 0.0 : r.flops;
  a.core_j = flops * op_j + r.int_ops * (e_.int_op_j > 0 ? e_.int_op_j : e_.vector_j);
  for (size_t i = 0; i < r.bytes_per_level.size(); ++i) {
    const auto& [level, bytes] = r.bytes_per_level[i];
    if (level == "link")
      a.mem_j += bytes * e_.link_j;
    else if (i == 0 || level.rfind("hbm", 0) == 0 || level.rfind("dram", 0) == 0)
      a.mem_j += bytes * e_.main_memory_j;
    else
      a.core_j += bytes * e_.cache_j;
  }
  return a;
}

double PowerModel::voltage2(double f) const {
  const double v = p_.voltage_floor + (1 - p_.voltage_floor) * f;
  return v * v;
}

double PowerModel::time_at(const OpActivity& a, double f) const {
  return a.ref_time_s * ((1 - a.u) + a.u * a.ref_clock / f);
}

double PowerModel::power_at(const OpActivity& a, double f) const {
  const double t = time_at(a, f);
  if (!(t > 0)) return p_.idle_w;
  const double s = voltage2(f);
  return p_.idle_w + p_.active_w * f * s + (a.core_j * s + a.mem_j) / t;
}

namespace {
// The highest f in [lo, 1] with fits(f) (fits is monotone: true below some clock); lo if none.
template <class Fits>
double highest_fitting(double lo, Fits fits) {
  if (fits(1.0)) return 1.0;
  if (!fits(lo)) return lo;
  double a = lo, b = 1.0;
  for (int i = 0; i < 40; ++i) {
    const double m = 0.5 * (a + b);
    (fits(m) ? a : b) = m;
  }
  return a;
}
}  // namespace

double PowerModel::capped_clock(const OpActivity& a, double cap_w) const {
  return highest_fitting(p_.min_clock, [&](double f) { return power_at(a, f) <= cap_w; });
}

double PowerModel::reference_clock(const OpActivity& a) const {
  if (!(p_.timing_tdp_w > 0) || !(a.ref_time_s > 0)) return 1.0;
  // The fitted time holds at the clock where the op's power, over that time, meets the limit.
  return highest_fitting(p_.min_clock, [&](double f) {
    const double s = voltage2(f);
    return p_.idle_w + p_.active_w * f * s + (a.core_j * s + a.mem_j) / a.ref_time_s <=
           p_.timing_tdp_w;
  });
}

void PowerModel::sustained(const Op& op, OpResult& r, double u, double nominal_hz,
                           bool at_nominal, double min_ref_clock) const {
  OpActivity a = activity(op, r, u);
  if (!enabled()) {
    r.activity = a;
    return;
  }
  a.ref_clock = at_nominal ? 1.0 : std::clamp(reference_clock(a), min_ref_clock, 1.0);
  r.activity = a;
  const double f = tdp_w_ > 0 && r.time_s > 0 ? capped_clock(a, tdp_w_) : a.ref_clock;
  const double t = r.time_s > 0 ? time_at(a, f) : 0.0;
  if (r.time_s > 0) r.cycles *= t / r.time_s;
  r.time_s = t;
  r.energy_j = power_at(a, f) * t;
  r.clock_hz = f * nominal_hz;
}

void PowerModel::stream(std::vector<OpResult>& seq, double nominal_hz) const {
  const double tau = p_.window_s;
  if (!enabled() || !(tdp_w_ > 0) || !(tau > 0) || seq.empty()) return;
  constexpr int kSteps = 8;  // sub-steps per op instance
  // The stream is replayed back to back: pass over it until the average has forgotten its start
  // (20 time constants), and keep the last pass, the periodic steady state.
  double total = 0;
  for (const auto& r : seq) total += r.time_s;
  const int passes =
      total > 0 ? static_cast<int>(std::clamp(std::ceil(20 * tau / total), 1.0, 10000.0)) + 1 : 1;
  double x = p_.idle_w;  // the limiter's running average of the power
  for (int pass = 0; pass < passes; ++pass) {
    const bool last = pass + 1 == passes;
    for (auto& r : seq) {
      const OpActivity& a = r.activity;
      if (!(r.time_s > 0) || !(a.ref_time_s > 0)) continue;
      // Within a sub-step the average moves by (P - x)(1 - d); the limiter picks the highest
      // clock that keeps it under the cap.
      const double d = std::exp(-r.time_s / kSteps / tau);
      double t = 0, e = 0, fc = 0;
      for (int k = 0; k < kSteps; ++k) {
        const double cap = x + (tdp_w_ - x) / std::max(1e-12, 1 - d);
        const double f = capped_clock(a, cap);
        const double p = power_at(a, f);
        const double dt = time_at(a, f) / kSteps;
        x += (p - x) * (1 - d);
        t += dt;
        e += p * dt;
        fc += f * dt;
      }
      if (last) {
        r.cycles *= t / r.time_s;
        r.time_s = t;
        r.energy_j = e;
        r.clock_hz = fc / t * nominal_hz;
      }
    }
  }
}

}  // namespace xpusim
