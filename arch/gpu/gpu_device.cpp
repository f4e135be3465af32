// The SIMT GPU device (`type: gpu`): each operator is planned as a library kernel (arch/gpu/
// gpu_kernels) and the stream of kernels is timed by the SystemC model (arch/gpu/gpu_sim).
#include "arch/gpu/gpu_device.h"

#include <fmt/format.h>

#include <memory>

#include "arch/gpu/gpu_sim.h"
#include "arch/registry.h"

namespace xpusim {

GpuDevice::GpuDevice(const GpuConfig& c, std::string name, std::string fingerprint)
    : c_(c), name_(std::move(name)), family_("gpu"), fingerprint_(std::move(fingerprint)) {}

Evaluation GpuDevice::run(const std::vector<Op>& ops) {
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
  GpuSimSpec spec{c_.sm.count, c_.hbm.bw_bytes_per_s * c_.hbm_efficiency, c_.hbm.latency_s,
                  c_.l2.bw_bytes_per_s, c_.link.bw_bytes_per_s};
  auto timings = simulate_kernels(spec, plans);
  ev.results.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const KernelTiming& t = timings[i];
    OpResult r;
    r.time_s = t.time_s;
    r.cycles = t.time_s * c_.clock_hz;
    r.flops = ops[i].flops;
    r.bytes_per_level = {{"hbm", t.hbm_bytes}, {"l2", t.l2_bytes}};
    if (ops[i].kind == OpKind::kCollective) r.bytes_per_level.emplace_back("link", t.link_bytes);
    r.bound = classify(t, plans[i]);
    r.unit = plans[i].unit;
    ev.results.push_back(std::move(r));
  }
  return ev;
}

// The resource that accounts for most of the time; fixed costs (launch, fill, and the serial
// latency of short elementwise rows) win when neither throughput term reaches half the total.
Bound GpuDevice::classify(const KernelTiming& t, const KernelPlan& p) {
  const bool serial = p.unit == "cuda_core" && p.tile_m == 0;  // elementwise: SM time is latency
  const double compute = serial ? 0.0 : t.compute_s;
  if (std::max(compute, t.memory_s) < 0.5 * t.time_s) return Bound::kLatency;
  return compute >= t.memory_s ? Bound::kCompute : Bound::kMemory;
}

void register_gpu(DeviceRegistry& r) {
  r.add({"gpu", &gpu_schema(), [](const CfgNode& tree, const std::string& name, ErrorList& errors) {
           GpuConfig c = gpu_schema().parse(tree, errors);
           if (!errors.empty()) return std::unique_ptr<Device>();
           return std::unique_ptr<Device>(
               std::make_unique<GpuDevice>(c, name, config_fingerprint(tree)));
         }});
}

}  // namespace xpusim
