// The SIMT GPU device (`type: gpu`): each operator is planned as a library kernel (arch/gpu/
// gpu_kernels: tiles, occupancy, waves) and the stream of kernels runs on the shared SystemC
// engine (sim/engine): the SM array consumes wave chunks whose loads stream through the HBM
// (bandwidth, latency), L2 and NVLink targets. Times in seconds.
#include "arch/gpu/gpu_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "arch/registry.h"

namespace xpusim {

GpuDevice::GpuDevice(const GpuConfig& c, std::string name, std::string fingerprint)
    : c_(c),
      power_(c.energy, c.power, c.tdp_w),
      name_(std::move(name)), family_("gpu"), fingerprint_(std::move(fingerprint)) {}

Evaluation GpuDevice::run(const std::vector<Op>& ops) { return evaluate(ops, false); }
Evaluation GpuDevice::run_stream(const std::vector<Op>& ops) { return evaluate(ops, true); }

void GpuDevice::stream(std::vector<OpResult>& instances) const {
  power_.stream(instances, c_.clock_hz);
}

bool GpuDevice::supports(DType d, ComputeUnit unit) const {
  // A GEMM needs the hardware's datapath and the library's kernel for the format (its
  // efficiency); the CUDA cores' matrix path is fp32.
  switch (unit) {
    case ComputeUnit::kTensorCore:
      return c_.sm.tensor.per_clk(d) > 0 && c_.gemm.efficiency.per_clk(d) > 0;
    case ComputeUnit::kCudaCore:
      return d == DType::kFp32 && c_.sm.fp32_per_clk > 0 &&
             c_.gemm.efficiency.per_clk(DType::kFp32) > 0;
    default:
      return false;
  }
}

Evaluation GpuDevice::evaluate(const std::vector<Op>& ops, bool stream) {
  Evaluation ev;
  std::vector<KernelPlan> plans;
  plans.reserve(ops.size());
  for (const auto& op : ops) {
    plans.push_back(plan_kernel(c_, op));
    if (!plans.back().ok) {
      ev.ok = false;
      ev.reason = fmt::format("{} cannot run {} ({}): {}", name_, op.name, dtype_name(op.dtype),
                              plans.back().reason);
      return ev;
    }
  }
  const std::vector<OpTiming> timings =
      simulate_ops(engine_spec(), work_of(plans), nullptr, trace_);
  ev.results.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpTiming& t = timings[i];
    OpResult r;
    r.time_s = t.time_s;
    // An eager collective in a loop of calls: the host issues call n+1 while the GPU runs call n,
    // so the pace is the slower of the two (the host's cost is not on the GPU's engine).
    const bool host_bound =
        ops[i].kind == OpKind::kCollective && ops[i].eager && c_.collective.eager_host_s > r.time_s;
    if (host_bound) r.time_s = c_.collective.eager_host_s;
    r.cycles = r.time_s * c_.clock_hz;
    r.flops = ops[i].flops;
    r.executed_flops = plans[i].executed_flops;
    r.int_ops = plans[i].int_ops;
    r.bytes_per_level = {{"hbm", t.bytes_per_level[0]}, {"l2", t.bytes_per_level[1]}};
    if (ops[i].kind == OpKind::kCollective)
      r.bytes_per_level.emplace_back("link", t.bytes_per_level[2]);
    fill_engine_stats(r, t, {"hbm", "l2", "link"});
    r.bound = host_bound ? Bound::kLatency : t.bound;
    r.unit = plans[i].unit;
    // Compute-bound (the SMs' time exceeds the memory time of the kernel's waves): that part of
    // the time follows the SM clock.
    const double clock_frac = !host_bound && t.time_s > 0 && t.compute_s > t.memory_s
                                  ? std::min(1.0, t.compute_s / t.time_s)
                                  : 0.0;
    r.matrix_frac = plans[i].unit.unit == ComputeUnit::kTensorCore ? clock_frac : 0.0;
    // The clock at which the time model's time holds can be no lower than the one at which the
    // tensor cores of the SMs the kernel occupies, at their peak rate, finish its operations in
    // its SM time (a skinny GEMM's short, fitted time implies a clock near the nominal one).
    double min_ref_clock = 0;
    if (c_.peak_clock_floor && clock_frac > 0 && plans[i].unit.unit == ComputeUnit::kTensorCore &&
        plans[i].unit.path == UnitPath::kNative && t.compute_s > 0) {
      int64_t sms = 0;
      for (const WaveGroup& g : plans[i].groups) sms = std::max(sms, g.active_sms);
      const double peak = double(sms) * c_.sm.tensor.per_clk(ops[i].dtype) * c_.clock_hz;
      const double work = r.executed_flops > 0 ? r.executed_flops : r.flops;
      if (peak > 0) min_ref_clock = work / peak / t.compute_s;
    }
    power_.sustained(ops[i], r, clock_frac, c_.clock_hz, plans[i].sm_time_at_nominal,
                     min_ref_clock);
    ev.results.push_back(std::move(r));
  }
  if (stream) power_.stream(ev.results, c_.clock_hz);
  return ev;
}

Roofline GpuDevice::roofline(DType d) const {
  // The datasheet's tensor throughput is quoted at tensor_clock; HBM at its peak.
  const double clock = c_.tensor_clock_hz > 0 ? c_.tensor_clock_hz : c_.clock_hz;
  return {double(c_.sm.count) * c_.sm.tensor.per_clk(d) * clock, c_.hbm.bw_bytes_per_s, "hbm"};
}

EngineSpec GpuDevice::engine_spec() const {
  EngineSpec spec;
  // HBM at the device's achievable rate, with its first-byte latency (paid by each kernel's first
  // loads; later loads are in flight behind compute). The SMs keep many loads in flight, so the
  // wave chunks of a kernel may all be loaded ahead (buffer_stages = the event budget); what few
  // SMs can keep in flight is the groups' issue-rate limit.
  spec.levels = {
      {"hbm", c_.hbm.size_bytes, c_.hbm.bw_bytes_per_s * c_.hbm_efficiency, c_.hbm.latency_s, 0},
      {"l2", 0, c_.l2.bw_bytes_per_s, 0, 0},
      {"link", 0, std::max(1.0, c_.link.bw_bytes_per_s), 0, 0}};
  spec.buffer_stages = spec.max_chunks;
  return spec;
}

std::vector<OpWork> GpuDevice::work_of(const std::vector<KernelPlan>& plans) const {
  const double hbm = c_.hbm.bw_bytes_per_s * c_.hbm_efficiency;
  const double link = std::max(1.0, c_.link.bw_bytes_per_s);
  std::vector<OpWork> work;
  work.reserve(plans.size());
  for (const auto& p : plans) {
    OpWork w;
    w.overhead_s = p.launch_s + p.fill_s;
    // Elementwise rows: the SM time is the serial latency of a CTA, not throughput.
    w.compute_is_latency = p.unit == UnitUse{ComputeUnit::kCudaCore} && p.tile_m == 0;
    // A kernel's access pattern may reach less of HBM's (or the link's) rate than the device.
    const double hbm_eff = p.hbm_bw > 0 ? p.hbm_bw / hbm : 1.0;
    if (p.link_bytes > 0) {
      TileGroup g;
      g.bytes = {0, 0, p.link_bytes};
      g.efficiency = {1, 1, p.link_bw > 0 ? p.link_bw / link : 1.0};
      g.divisible = true;
      w.groups.push_back(std::move(g));
    }
    for (const auto& wg : p.groups) {
      TileGroup g;
      g.tiles = double(wg.waves);
      g.compute_s = wg.compute_s;
      g.bytes = {wg.hbm_bytes, wg.l2_bytes};
      g.efficiency = {hbm_eff * wg.hbm_bw_frac, 1};
      g.divisible = true;  // CTAs stream their K loop: a wave's loads overlap its math
      if (wg.load_bytes_per_s_per_sm > 0 && wg.active_sms > 0)
        g.issue_bytes_per_s = double(wg.active_sms) * wg.load_bytes_per_s_per_sm;
      w.groups.push_back(std::move(g));
    }
    work.push_back(std::move(w));
  }
  return work;
}

void register_gpu(DeviceRegistry& r) {
  r.add({"gpu", &gpu_schema(), [](const CfgNode& tree, const std::string& name, ErrorList& errors) {
           GpuConfig c = gpu_schema().parse(tree, errors);
           if (errors.empty()) check_gpu_physics(c, tree, errors);
           if (!errors.empty()) return std::unique_ptr<Device>();
           return std::unique_ptr<Device>(
               std::make_unique<GpuDevice>(c, name, config_fingerprint(tree)));
         }});
}

}  // namespace xpusim
