// The SIMT GPU device: plans each operator as a library kernel and times the kernel stream on
// the shared SystemC engine. Results per op: time, cycles (SM clock), HBM and L2 bytes, bound, unit.
#pragma once

#include <string>
#include <vector>

#include "arch/device.h"
#include "arch/gpu/gpu_config.h"
#include "arch/gpu/gpu_kernels.h"
#include "arch/power.h"
#include "sim/engine/engine.h"

namespace xpusim {

class GpuDevice : public Device {
 public:
  GpuDevice(const GpuConfig& c, std::string name, std::string fingerprint);
  const std::string& name() const override { return name_; }
  const std::string& family() const override { return family_; }
  double clock_hz() const override { return c_.clock_hz; }
  double memory_capacity_bytes() const override { return c_.hbm.size_bytes; }
  const std::string& fingerprint() const override { return fingerprint_; }
  bool supports(DType d, ComputeUnit unit) const override;
  // Per op, each timed as the kernel datasets time it: run back to back on its own (sustained).
  Evaluation run(const std::vector<Op>& ops) override;
  // The ops as one stream replayed back to back (a CUDA-graph-captured layer stack): as run(),
  // then the power-limited clock follows the stream's running average power (arch/power.h), in
  // its periodic steady state (the stream is passed over until the average has forgotten its
  // start).
  Evaluation run_stream(const std::vector<Op>& ops);
  // The power-limited clock of run_stream, applied to run()'s (cached) per-op results.
  void stream(std::vector<OpResult>& instances) const override;
  std::optional<double> idle_power_w() const override {
    return power_.enabled() ? std::optional<double>(c_.power.idle_w) : std::nullopt;
  }
  std::optional<AreaBreakdown> area() const override {
    return die_area(c_.area, gpu_area_inputs(c_));
  }
  const GpuConfig& config() const { return c_; }
  Roofline roofline(DType d) const override;
  MemLevelSpec link_spec() const override {
    return c_.link.bw_bytes_per_s > 0
               ? MemLevelSpec{"link", 0, c_.link.bw_bytes_per_s, c_.link.latency_s, 0}
               : Device::link_spec();
  }

 private:
  Evaluation evaluate(const std::vector<Op>& ops, bool stream);
  // The engine's memory levels (hbm, l2, link) and each kernel plan as engine work.
  EngineSpec engine_spec() const;
  std::vector<OpWork> work_of(const std::vector<KernelPlan>& plans) const;
  GpuConfig c_;
  PowerModel power_;
  std::string name_, family_, fingerprint_;
};

}  // namespace xpusim
