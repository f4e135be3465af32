// First-slice SIMT GPU: tensor cores run GEMMs and attention, CUDA cores run elementwise work,
// and every operand streams from HBM once. Rates in FLOP per clock per SM; clocks in Hz.
#include <memory>

#include "arch/dtype_rates.h"
#include "arch/engine_device.h"
#include "arch/memory_config.h"
#include "arch/registry.h"

namespace xpusim {
namespace {

struct GpuConfig {
  std::string name, description;
  double clock_hz = 0;         // boost clock of the CUDA cores
  double tensor_clock_hz = 0;  // clock at which the datasheet's tensor throughput is quoted
  struct Sm {
    int64_t count = 0;
    double fp32_per_clk = 0;  // CUDA-core FP32 FLOP per clock per SM
    double shared_mem_bytes = 0;
    DtypeRates tensor;
  } sm;
  MemoryConfig hbm;
  double l2_bytes = 0;
  double launch_overhead_s = 0;
  double tdp_w = 0;
};

const Schema<GpuConfig>& gpu_schema() {
  static const Schema<GpuConfig> s = [] {
    Schema<GpuConfig> s("gpu", "SIMT GPU: streaming multiprocessors with tensor cores, L2 and HBM");
    s.text("name", "", "preset name", &GpuConfig::name);
    s.text("description", "", "what this preset is, with its public source", &GpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11}, "SM boost clock", &GpuConfig::clock_hz);
    s.quantity("tensor_clock", Unit::kHertz, kRequired, Range{1e7, 1e11},
               "clock at which the tensor cores sustain their datasheet throughput", &GpuConfig::tensor_clock_hz);
    s.integer("sm.count", kRequired, Range{1, 100000}, "number of streaming multiprocessors", &GpuConfig::sm,
              &GpuConfig::Sm::count);
    s.real("sm.fp32_per_clk", kRequired, Range{1, 1e6}, "CUDA-core FP32 FLOP per clock per SM (FMA = 2)",
           &GpuConfig::sm, &GpuConfig::Sm::fp32_per_clk);
    s.quantity("sm.shared_mem", Unit::kBytes, kRequired, Range{1024, 1e9}, "shared memory + L1 per SM",
               &GpuConfig::sm, &GpuConfig::Sm::shared_mem_bytes);
    declare_rates(s, "sm.tensor", "tensor cores of one SM (dense)", &GpuConfig::sm, &GpuConfig::Sm::tensor);
    declare_memory(s, "hbm", "device memory (HBM)", "500 ns", &GpuConfig::hbm);
    s.quantity("l2.size", Unit::kBytes, kRequired, Range{1024, 1e12}, "L2 cache capacity", &GpuConfig::l2_bytes);
    s.quantity("launch_overhead", Unit::kSeconds, "3 us", Range{0, 1e-3},
               "fixed cost of one kernel (launch, ramp-up and tail) inside a CUDA graph",
               &GpuConfig::launch_overhead_s);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "board power limit (0 = not published)", &GpuConfig::tdp_w);
    return s;
  }();
  return s;
}

class GpuDevice : public EngineDevice {
 public:
  GpuDevice(const GpuConfig& c, std::string name, std::string fp)
      : EngineDevice(std::move(name), "gpu", std::move(fp), make_spec(c), c.clock_hz, c.hbm.size_bytes), c_(c) {}

 protected:
  UnitChoice choose_unit(const Op& op) const override {
    const bool matrix = op.kind == OpKind::kGemm || op.kind == OpKind::kAttention;
    if (matrix && op.dtype != DType::kFp32)
      return matrix_unit(c_.sm.tensor, op, c_.sm.count * c_.tensor_clock_hz, "tensor_core");
    // FP32 GEMMs (TF32 off) and all elementwise work run on the CUDA cores.
    return UnitChoice{true, "", "cuda_core", c_.sm.fp32_per_clk * c_.sm.count * c_.clock_hz};
  }
  double launch_overhead_s(const Op&) const override { return c_.launch_overhead_s; }

 private:
  static EngineSpec make_spec(const GpuConfig& c) {
    EngineSpec spec;
    spec.levels.push_back({"hbm", c.hbm.size_bytes, c.hbm.bw_bytes_per_s, c.hbm.latency_s});
    return spec;
  }
  GpuConfig c_;
};

}  // namespace

void register_gpu(DeviceRegistry& r) {
  r.add({"gpu", &gpu_schema(), [](const CfgNode& tree, const std::string& name, ErrorList& errors) {
           GpuConfig c = gpu_schema().parse(tree, errors);
           if (!errors.empty()) return std::unique_ptr<Device>();
           return std::unique_ptr<Device>(std::make_unique<GpuDevice>(c, name, config_fingerprint(tree)));
         }});
}

}  // namespace xpusim
