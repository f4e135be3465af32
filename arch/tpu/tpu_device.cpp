// The TPU device: plans every operator (tpu_model.h) and runs the plans on the shared SystemC
// engine, whose DMA process fills the operand buffers `dma.stages` folds ahead of the arrays; the
// stalls and the overlap come out of the simulation. Times in seconds, cycles at `clock`.
#include <fmt/format.h>

#include <memory>

#include "arch/registry.h"
#include "arch/tpu/tpu_config.h"
#include "arch/tpu/tpu_model.h"

namespace xpusim {
namespace {

constexpr int kWindowStages = 1 << 16;

class TpuDevice : public Device {
 public:
  TpuDevice(const TpuConfig& c, std::string name, std::string fp)
      : c_(c),
        power_(c.energy, c.power, c.tdp_w),
        name_(std::move(name)),
        fingerprint_(std::move(fp)) {
    spec_.levels = tpu_levels(c_);
    spec_.buffer_stages = static_cast<int>(c_.dma_stages);
    // SCALE-Sim's buffers issue each transfer when the previous one completes, whatever the
    // array is doing: with sram.read_buffer: window the DMA runs that far ahead.
    if (c_.sram.read_buffer == "window") spec_.buffer_stages = kWindowStages;
  }
  const std::string& name() const override { return name_; }
  const std::string& family() const override { return family_; }
  double clock_hz() const override { return c_.clock_hz; }
  double memory_capacity_bytes() const override { return c_.hbm.size_bytes; }
  const std::string& fingerprint() const override { return fingerprint_; }
  MemLevelSpec link_spec() const override {
    return {"link", 0, c_.link.bw_bytes_per_s, c_.link.latency_s, 0};
  }
  // The vector unit (and the sparse-format path on it) computes in fp32.
  bool supports(DType d, ComputeUnit unit) const override {
    switch (unit) {
      case ComputeUnit::kMxu:
        return c_.mxu.rates.per_clk(d) > 0;
      case ComputeUnit::kVpu:
      case ComputeUnit::kVector:
        return d == DType::kFp32 && c_.vpu_per_clk > 0;
      default:
        return false;
    }
  }

  void stream(std::vector<OpResult>& instances) const override {
    power_.stream(instances, c_.clock_hz);
  }
  std::optional<AreaBreakdown> area() const override {
    return die_area(c_.area, tpu_area_inputs(c_));
  }
  std::optional<double> idle_power_w() const override {
    return power_.enabled() ? std::optional<double>(c_.power.idle_w) : std::nullopt;
  }
  Roofline roofline(DType d) const override {
    return {double(c_.cores * c_.mxu.count) * c_.mxu.rates.per_clk(d) * c_.clock_hz,
            c_.hbm.bw_bytes_per_s, "hbm"};
  }

  Evaluation run(const std::vector<Op>& ops) override {
    Evaluation ev;
    std::vector<TpuOpPlan> plans;
    std::vector<OpWork> work;
    for (const auto& op : ops) {
      TpuOpPlan p = plan_tpu_op(c_, op);
      if (!p.ok) {
        ev.ok = false;
        ev.reason = fmt::format("{} cannot run {} ({}): {}", name_, op.name, dtype_name(op.dtype),
                                p.reason);
        return ev;
      }
      // The SystemC clock holds about 213 days; an operator past a million seconds is refused.
      double longest = p.work.overhead_s;
      for (const auto& g : p.work.groups) {
        longest = std::max(longest, g.tiles * g.compute_s);
        for (size_t l = 0; l < g.bytes.size(); ++l)
          longest = std::max(longest, g.tiles * g.bytes[l] / spec_.levels[l].bw_bytes_per_s);
      }
      if (longest > 1e6) {
        ev.ok = false;
        ev.reason = fmt::format("{} would take more than 10^6 s on {}: too large to simulate",
                                op.name, name_);
        return ev;
      }
      work.push_back(p.work);
      plans.push_back(std::move(p));
    }
    const auto timings = simulate_ops(spec_, work, nullptr, trace_);
    std::vector<std::string> names;
    for (const auto& l : spec_.levels) names.push_back(l.name);
    for (size_t i = 0; i < ops.size(); ++i) {
      OpResult r;
      r.time_s = timings[i].time_s;
      r.cycles = timings[i].time_s * c_.clock_hz;
      r.flops = ops[i].flops;
      const auto& off = plans[i].off_op_bytes;
      for (size_t l = 0; l < spec_.levels.size(); ++l)
        r.bytes_per_level.emplace_back(
            names[l], timings[i].bytes_per_level[l] + (l < off.size() ? off[l] : 0.0));
      r.bound = timings[i].bound;
      r.unit = plans[i].unit;
      fill_engine_stats(r, timings[i], names);
      // The array's own figures: stall-free cycles of the busiest array (the vector unit's busy
      // cycles for ops off the arrays), the engine's stall, SCALE-Sim's utilisation.
      ArrayFigures a;
      const TpuOpPlan& p = plans[i];
      a.compute_cycles = p.macs > 0 ? p.compute_cycles : timings[i].compute_s * c_.clock_hz;
      a.stall_cycles = timings[i].stall_s * c_.clock_hz;
      a.util = p.peak_macs_per_cycle > 0 && r.cycles > 0
                   ? p.macs / (r.cycles * p.peak_macs_per_cycle)
                   : 0.0;
      a.mapping_eff = p.mapping_eff;
      a.dram_read_bytes = p.dram_read_bytes, a.dram_write_bytes = p.dram_write_bytes;
      r.array = a;
      power_.sustained(ops[i], r,
                       clock_bound_fraction(timings[i].time_s, timings[i].compute_s,
                                            timings[i].memory_s),
                       c_.clock_hz);
      ev.results.push_back(std::move(r));
    }
    return ev;
  }

 private:
  TpuConfig c_;
  PowerModel power_;
  std::string name_, fingerprint_;
  const std::string family_ = "tpu";
  EngineSpec spec_;
};

}  // namespace

void register_tpu(DeviceRegistry& r) {
  r.add({"tpu", &tpu_schema(), [](const CfgNode& tree, const std::string& name, ErrorList& errors) {
           TpuConfig c = tpu_schema().parse(tree, errors);
           if (errors.empty()) check_area(c.area, tpu_area_inputs(c), tree, errors);
           if (!errors.empty()) return std::unique_ptr<Device>();
           return std::unique_ptr<Device>(
               std::make_unique<TpuDevice>(c, name, config_fingerprint(tree)));
         }});
}

}  // namespace xpusim
