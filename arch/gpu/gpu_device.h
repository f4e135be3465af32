// The SIMT GPU device: plans each operator as a library kernel and times the kernel stream on
// the shared SystemC engine. Results per op: time, cycles (SM clock), HBM and L2 bytes, bound, unit.
#pragma once

#include <string>
#include <vector>

#include "arch/device.h"
#include "arch/gpu/gpu_config.h"
#include "arch/gpu/gpu_kernels.h"
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
  // then the power-limited clock follows the stream's tensor-core load (power.*), in its periodic
  // steady state (the stream is passed over until the average has forgotten its start).
  Evaluation run_stream(const std::vector<Op>& ops);
  // The power-limited clock of run_stream, applied to run()'s (cached) per-op results.
  void stream_times(const std::vector<double>& matrix_frac,
                    std::vector<double>& times) const override;
  const GpuConfig& config() const { return c_; }
  Roofline roofline(DType d) const override;
  MemLevelSpec link_spec() const override {
    return c_.link.bw_bytes_per_s > 0
               ? MemLevelSpec{"link", 0, c_.link.bw_bytes_per_s, c_.link.latency_s, 0}
               : Device::link_spec();
  }

  // Power-limited clock over a stream: scales each kernel's time (in place) from its sustained
  // value to the value under the stream's filtered tensor-core load. `times` and `tensor_frac`
  // (the fraction of each kernel's time that is tensor-core bound) are per kernel.
  static double power_clock(const GpuConfig& c, double tensor_load);
  static void apply_power_clock(const GpuConfig& c, std::vector<double>& times,
                                const std::vector<double>& tensor_frac);

 private:
  Evaluation evaluate(const std::vector<Op>& ops, bool stream);
  // The engine's memory levels (hbm, l2, link) and each kernel plan as engine work.
  EngineSpec engine_spec() const;
  std::vector<OpWork> work_of(const std::vector<KernelPlan>& plans) const;
  GpuConfig c_;
  std::string name_, family_, fingerprint_;
};

}  // namespace xpusim
