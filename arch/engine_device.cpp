// Maps operators onto a family's unit and main memory and runs them through the engine.
#include "arch/engine_device.h"

#include <fmt/format.h>

namespace xpusim {

EngineDevice::EngineDevice(std::string name, std::string family, std::string fingerprint, EngineSpec spec,
                           double clock_hz, double capacity_bytes)
    : name_(std::move(name)),
      family_(std::move(family)),
      fingerprint_(std::move(fingerprint)),
      spec_(std::move(spec)),
      clock_hz_(clock_hz),
      capacity_(capacity_bytes) {}

Evaluation EngineDevice::run(const std::vector<Op>& ops) {
  Evaluation ev;
  std::vector<OpWork> work;
  std::vector<std::string> units;
  work.reserve(ops.size());
  for (const auto& op : ops) {
    UnitChoice u = choose_unit(op);
    if (!u.ok) {
      ev.ok = false;
      ev.reason = fmt::format("{} cannot run {} ({}): {}", name_, op.name, dtype_name(op.dtype), u.reason);
      return ev;
    }
    OpWork w;
    w.compute_s = op.flops > 0 ? op.flops / u.flops_per_s : 0.0;
    // First slice: every operand streams from the outermost memory level once (the minimum
    // traffic); on-chip reuse and cache levels arrive with the detailed models.
    w.bytes_per_level.assign(spec_.levels.size(), 0.0);
    w.bytes_per_level.back() = op.total_bytes();
    w.overhead_s = launch_overhead_s(op);
    work.push_back(std::move(w));
    units.push_back(u.unit);
  }
  auto timings = simulate_ops(spec_, work);
  for (size_t i = 0; i < ops.size(); ++i) {
    OpResult r;
    r.time_s = timings[i].time_s;
    r.cycles = timings[i].time_s * clock_hz_;
    r.flops = ops[i].flops;
    for (size_t l = 0; l < spec_.levels.size(); ++l)
      r.bytes_per_level.emplace_back(spec_.levels[l].name, timings[i].bytes_per_level[l]);
    r.bound = timings[i].bound;
    r.unit = units[i];
    ev.results.push_back(std::move(r));
  }
  return ev;
}

}  // namespace xpusim

namespace xpusim {

UnitChoice matrix_unit(const DtypeRates& rates, const Op& op, double clocks_per_s, const std::string& unit) {
  UnitChoice u;
  u.unit = unit;
  double per_clk = rates.per_clk(op.dtype);
  if (per_clk == 0 && op.dtype == DType::kInt4 && rates.bf16 > 0) {
    per_clk = rates.bf16;
    u.unit = unit + "(int4->bf16)";
  }
  if (per_clk == 0) {
    u.ok = false;
    u.reason = fmt::format("the {} has no {} datapath", unit, dtype_name(op.dtype));
    return u;
  }
  if (op.sparse_2_4 && rates.sparse_2_4) per_clk *= 2;
  u.flops_per_s = per_clk * clocks_per_s;
  return u;
}

}  // namespace xpusim
