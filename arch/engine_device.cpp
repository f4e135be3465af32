// Maps operators onto a family's unit and main memory and runs them through the engine.
#include "arch/engine_device.h"

#include <fmt/format.h>

#include <algorithm>

namespace xpusim {

EngineDevice::EngineDevice(std::string name, std::string family, std::string fingerprint,
                           EngineSpec spec, double clock_hz, double capacity_bytes,
                           std::optional<LinkConfig> link)
    : name_(std::move(name)),
      family_(std::move(family)),
      fingerprint_(std::move(fingerprint)),
      spec_(std::move(spec)),
      link_(std::move(link)),
      clock_hz_(clock_hz),
      capacity_(capacity_bytes) {
  XPUSIM_ASSERT(spec_.levels.size() == 1, "first-slice devices have one main-memory level");
  if (link_) spec_.levels.push_back({"link", 0, link_->bw_bytes_per_s, 0, 0});
}

UnitChoice EngineDevice::unit_for(const Op& op) const {
  if (op.kind == OpKind::kCollective) {
    if (!link_) return UnitChoice{false, "no link between devices is configured (link.bw)", {}, 0};
    return UnitChoice{true, "", {ComputeUnit::kLink}, 0};
  }
  const bool sparse_format = op.kind == OpKind::kGemm && (op.wformat == WeightFormat::kCsr ||
                                                          op.wformat == WeightFormat::kBitmap);
  if (sparse_format) {
    const double v = vector_flops_per_s(op);
    if (v <= 0)
      return UnitChoice{false, "no vector unit is modelled for sparse-format GEMMs", {}, 0};
    return UnitChoice{true, "", {ComputeUnit::kVector, UnitPath::kSparseFormat}, v};
  }
  return choose_unit(op);
}

Evaluation EngineDevice::run(const std::vector<Op>& ops) {
  Evaluation ev;
  std::vector<OpWork> work;
  std::vector<UnitUse> units;
  work.reserve(ops.size());
  for (const auto& op : ops) {
    UnitChoice u = unit_for(op);
    if (!u.ok) {
      ev.ok = false;
      ev.reason =
          fmt::format("{} cannot run {} ({}): {}", name_, op.name, dtype_name(op.dtype), u.reason);
      return ev;
    }
    std::vector<double> bytes(spec_.levels.size(), 0.0);
    double compute_s = 0, overhead_s = launch_overhead_s(op), link_fraction = 1;
    if (op.kind == OpKind::kCollective) {
      // The shared ring model (arch/link_config); no library protocols are configured for this
      // family, so each step pays the link latency (alpha-beta).
      const CollectiveCost cost = collective_cost(*link_, {}, op);
      bytes[1] = cost.wire.bytes;
      overhead_s += cost.fixed_s;
      link_fraction = cost.bw_fraction;
    } else {
      compute_s = op.flops > 0 ? op.flops / u.flops_per_s : 0.0;
      // Dequantising weights runs on the vector unit alongside the matrix unit (pipelined kernels).
      if (op.dequant_flops > 0 && vector_flops_per_s(op) > 0)
        compute_s = std::max(compute_s, op.dequant_flops / vector_flops_per_s(op));
      // First slice: every operand streams from main memory once (the minimum traffic); on-chip
      // reuse and cache levels arrive with the detailed models.
      bytes[0] = op.total_bytes();
    }
    // The SystemC clock holds about 213 days; an operator past a million seconds is refused.
    const double memory_s = bytes[0] / spec_.levels[0].bw_bytes_per_s;
    if (compute_s > 1e6 || memory_s > 1e6 || overhead_s > 1e6) {
      ev.ok = false;
      ev.reason = fmt::format("{} would take more than 10^6 s on {}: too large to simulate",
                              op.name, name_);
      return ev;
    }
    OpWork w = OpWork::single(compute_s, std::move(bytes), overhead_s, kTilesPerOp);
    if (link_fraction != 1) w.groups[0].efficiency = {1, link_fraction};
    work.push_back(std::move(w));
    units.push_back(u.unit);
  }
  auto timings = simulate_ops(spec_, work, nullptr, trace_);
  for (size_t i = 0; i < ops.size(); ++i) {
    OpResult r;
    r.time_s = timings[i].time_s;
    r.cycles = timings[i].time_s * clock_hz_;
    r.flops = ops[i].flops;
    for (size_t l = 0; l < spec_.levels.size(); ++l)
      r.bytes_per_level.emplace_back(spec_.levels[l].name, timings[i].bytes_per_level[l]);
    r.bound = timings[i].bound;
    r.unit = units[i];
    std::vector<std::string> names;
    for (const auto& l : spec_.levels) names.push_back(l.name);
    fill_engine_stats(r, timings[i], names);
    power_.sustained(ops[i], r,
                     clock_bound_fraction(timings[i].time_s, timings[i].compute_s,
                                          timings[i].memory_s),
                     clock_hz_);
    ev.results.push_back(std::move(r));
  }
  return ev;
}

}  // namespace xpusim

namespace xpusim {

UnitChoice matrix_unit(const DtypeRates& rates, const Op& op, double clocks_per_s,
                       ComputeUnit unit) {
  UnitChoice u;
  u.unit = {unit};
  double per_clk = rates.per_clk(op.dtype);
  if (per_clk == 0 && op.dtype == DType::kInt4 && rates.bf16 > 0) {
    per_clk = rates.bf16;
    u.unit = {unit, UnitPath::kInt4AsBf16};
  }
  if (per_clk == 0) {
    u.ok = false;
    u.reason =
        fmt::format("the {} has no {} datapath", compute_unit_name(unit), dtype_name(op.dtype));
    return u;
  }
  if (op.kind == OpKind::kGemm && op.wformat == WeightFormat::kSparse24 && rates.sparse_2_4)
    per_clk *= 2;
  u.flops_per_s = per_clk * clocks_per_s;
  return u;
}

}  // namespace xpusim
