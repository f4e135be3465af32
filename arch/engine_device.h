// Shared base of the first-slice devices (CPU, TPU): each family maps an operator onto one of its
// units and its main memory as tiles (OpWork), and the shared SystemC engine times the stream:
// a DMA process loads tiles `dma.stages` ahead of the compute unit.
#pragma once

#include <optional>
#include <string>

#include "arch/device.h"
#include "arch/link_config.h"
#include "arch/power.h"

namespace xpusim {

struct UnitChoice {
  bool ok = true;
  std::string reason;      // why no unit can run the op (when !ok)
  UnitUse unit;            // the unit and how the op uses it
  double flops_per_s = 0;  // its peak rate for this op's format
};

class EngineDevice : public Device {
 public:
  // spec.levels[0] is main memory. With a link, collectives travel on it as a second level.
  EngineDevice(std::string name, std::string family, std::string fingerprint, EngineSpec spec,
               double clock_hz, double capacity_bytes,
               std::optional<LinkConfig> link = std::nullopt);
  const std::string& name() const override { return name_; }
  const std::string& family() const override { return family_; }
  double clock_hz() const override { return clock_hz_; }
  double memory_capacity_bytes() const override { return capacity_; }
  const std::string& fingerprint() const override { return fingerprint_; }
  Evaluation run(const std::vector<Op>& ops) override;
  void stream(std::vector<OpResult>& instances) const override {
    power_.stream(instances, clock_hz_);
  }
  std::optional<double> idle_power_w() const override {
    return power_.enabled() ? std::optional<double>(power_.power().idle_w) : std::nullopt;
  }
  MemLevelSpec link_spec() const override {
    return link_ ? MemLevelSpec{"link", 0, link_->bw_bytes_per_s, link_->latency_s, 0}
                 : Device::link_spec();
  }

 protected:
  // The family's energy parameters (arch/power.h); none: energies stay empty.
  void set_power(PowerModel p) { power_ = std::move(p); }
  virtual UnitChoice choose_unit(const Op& op) const = 0;
  virtual double launch_overhead_s(const Op& op) const = 0;
  // The vector/SIMD unit's FP32 rate: runs weight dequantisation beside the matrix unit and
  // sparse-format (CSR, bitmap) GEMMs, which have no matrix-unit path. 0 = not modelled.
  virtual double vector_flops_per_s(const Op&) const { return 0; }

 private:
  static constexpr double kTilesPerOp = 8;  // first slice: blocks of an operator's work
  std::string name_, family_, fingerprint_;
  UnitChoice unit_for(const Op& op) const;
  EngineSpec spec_;
  std::optional<LinkConfig> link_;
  PowerModel power_;
  double clock_hz_;
  double capacity_;
};

}  // namespace xpusim

#include "arch/dtype_rates.h"

namespace xpusim {

// The matrix unit's peak rate for a GEMM or attention op. Formats without a unit of their own
// fall back as deployed kernels do: int4 weights are dequantised and run at the bf16 rate.
UnitChoice matrix_unit(const DtypeRates& rates, const Op& op, double clocks_per_s,
                       ComputeUnit unit);

}  // namespace xpusim
