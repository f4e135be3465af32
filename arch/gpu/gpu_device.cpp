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
    : c_(c), name_(std::move(name)), family_("gpu"), fingerprint_(std::move(fingerprint)) {}

Evaluation GpuDevice::run(const std::vector<Op>& ops) { return evaluate(ops, false); }
Evaluation GpuDevice::run_stream(const std::vector<Op>& ops) { return evaluate(ops, true); }

void GpuDevice::stream_times(const std::vector<double>& matrix_frac,
                             std::vector<double>& times) const {
  // Below sustained_clock^3 of tensor-core load the limiter keeps the boost clock: nothing moves.
  const double r3 = std::pow(c_.power.sustained_clock, 3);
  if (std::any_of(matrix_frac.begin(), matrix_frac.end(), [&](double u) { return u > r3; }))
    apply_power_clock(c_, times, matrix_frac);
}

// The power limiter holds the card's power, averaged over power.window, under its limit. x is
// that running average of the tensor-core load (0..1; a kernel whose tensor-bound fraction is u
// pulls x towards u with time constant window). Dynamic power goes as f*V^2 ~ f^3, so the limit
// allows the clock min(1, sustained_clock * x^(-1/3)) of boost: a sustained tensor-bound run
// (x = 1) gets sustained_clock, a mixed load under sustained_clock^3 keeps the boost clock. The
// datasets time each kernel sustained (x = u), so in a stream a kernel's tensor-bound time scales
// by its sustained clock over its mean clock there.
double GpuDevice::power_clock(const GpuConfig& c, double x) {
  const double r = c.power.sustained_clock;
  return x > r * r * r ? r / std::cbrt(x) : 1.0;
}

void GpuDevice::apply_power_clock(const GpuConfig& c, std::vector<double>& times,
                                  const std::vector<double>& tensor_frac) {
  const double r = c.power.sustained_clock, tau = c.power.window_s;
  if (!(r < 1) || !(tau > 0) || times.empty()) return;
  const std::vector<double> sustained = times;
  constexpr int kSteps = 8;  // sub-steps per kernel for the mean clock
  // The stream is replayed back to back: pass over it until the average has forgotten its
  // start (20 time constants), and keep the last pass, the periodic steady state.
  double total = 0;
  for (double t : sustained) total += t;
  const int passes =
      total > 0 ? static_cast<int>(std::clamp(std::ceil(20 * tau / total), 1.0, 10000.0)) + 1 : 1;
  std::vector<double> decays(times.size());  // per sub-step, the same in every pass
  for (size_t i = 0; i < times.size(); ++i) decays[i] = std::exp(-sustained[i] / kSteps / tau);
  double x = 0;
  for (int pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < times.size(); ++i) {
      const double u = std::clamp(tensor_frac[i], 0.0, 1.0), T = sustained[i];
      if (!(T > 0)) continue;
      const double decay = decays[i];
      double clock = 0;
      for (int k = 0; k < kSteps; ++k) {
        const double x_next = u + (x - u) * decay;
        clock += power_clock(c, 0.5 * (x + x_next)) / kSteps;
        x = x_next;
      }
      times[i] = T * ((1 - u) + u * power_clock(c, u) / clock);
    }
  }
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
  std::vector<double> times(ops.size()), tensor_frac(ops.size(), 0.0);
  for (size_t i = 0; i < ops.size(); ++i) {
    times[i] = timings[i].time_s;
    // Tensor-core bound: the SM (tensor) time exceeds the memory time of the kernel's waves.
    if (plans[i].unit.unit == ComputeUnit::kTensorCore && timings[i].time_s > 0 &&
        timings[i].compute_s > timings[i].memory_s)
      tensor_frac[i] = timings[i].compute_s / timings[i].time_s;
  }
  if (stream) stream_times(tensor_frac, times);
  ev.results.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpTiming& t = timings[i];
    OpResult r;
    r.time_s = times[i];
    // An eager collective in a loop of calls: the host issues call n+1 while the GPU runs call n,
    // so the pace is the slower of the two (the host's cost is not on the GPU's engine).
    const bool host_bound =
        ops[i].kind == OpKind::kCollective && ops[i].eager && c_.collective.eager_host_s > r.time_s;
    if (host_bound) r.time_s = c_.collective.eager_host_s;
    r.cycles = r.time_s * c_.clock_hz;
    r.flops = ops[i].flops;
    r.bytes_per_level = {{"hbm", t.bytes_per_level[0]}, {"l2", t.bytes_per_level[1]}};
    if (ops[i].kind == OpKind::kCollective)
      r.bytes_per_level.emplace_back("link", t.bytes_per_level[2]);
    fill_engine_stats(r, t, {"hbm", "l2", "link"});
    r.bound = host_bound ? Bound::kLatency : t.bound;
    r.unit = plans[i].unit;
    r.matrix_frac = tensor_frac[i];
    ev.results.push_back(std::move(r));
  }
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
      g.efficiency = {hbm_eff, 1};
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
