// The SIMT GPU device: plans each operator as a library kernel and times the kernel stream on
// the SystemC GPU model. Results per op: time, cycles (SM clock), HBM and L2 bytes, bound, unit.
#pragma once

#include <string>
#include <vector>

#include "arch/device.h"
#include "arch/gpu/gpu_config.h"
#include "arch/gpu/gpu_kernels.h"
#include "arch/gpu/gpu_sim.h"

namespace xpusim {

class GpuDevice : public Device {
 public:
  GpuDevice(const GpuConfig& c, std::string name, std::string fingerprint);
  const std::string& name() const override { return name_; }
  const std::string& family() const override { return family_; }
  double clock_hz() const override { return c_.clock_hz; }
  double memory_capacity_bytes() const override { return c_.hbm.size_bytes; }
  const std::string& fingerprint() const override { return fingerprint_; }
  Evaluation run(const std::vector<Op>& ops) override;
  const GpuConfig& config() const { return c_; }

  static Bound classify(const KernelTiming& t, const KernelPlan& p);

 private:
  GpuConfig c_;
  std::string name_, family_, fingerprint_;
};

}  // namespace xpusim
