// First-slice TPU: matrix units (MXUs) run GEMMs and attention, the vector unit runs elementwise
// work, and every operand streams from HBM once. Rates in operations per clock per MXU.
#include <memory>

#include "arch/dtype_rates.h"
#include "arch/engine_device.h"
#include "arch/link_config.h"
#include "arch/memory_config.h"
#include "arch/registry.h"

namespace xpusim {
namespace {

struct TpuConfig {
  std::string name, description;
  double clock_hz = 0;
  int64_t cores = 0;  // TensorCores per chip
  struct Mxu {
    int64_t count = 0;  // per core
    int64_t rows = 0, cols = 0;
    std::string dataflow;
    DtypeRates rates;  // per MXU
  } mxu;
  double vpu_per_clk = 0;  // vector-unit FP32 operations per clock per core
  MemoryConfig hbm;
  double vmem_bytes = 0;
  double op_overhead_s = 0;
  int64_t dma_stages = 2;  // tiles loaded ahead of the compute unit
  LinkConfig link;
  double tdp_w = 0;
};

const Schema<TpuConfig>& tpu_schema() {
  static const Schema<TpuConfig> s = [] {
    Schema<TpuConfig> s(
        "tpu",
        "TPU-style accelerator: systolic matrix units, a vector unit, on-chip buffers and HBM");
    s.file_name("name", "", "preset name (names its resolved file in the output folder)",
                &TpuConfig::name);
    s.text("description", "", "what this preset is, with its public source",
           &TpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11}, "core clock",
               &TpuConfig::clock_hz);
    s.integer("cores", "1", Range{1, 1024}, "TensorCores per chip", &TpuConfig::cores);
    s.integer("mxu.count", kRequired, Range{1, 4096}, "matrix units per core", &TpuConfig::mxu,
              &TpuConfig::Mxu::count);
    s.integer("mxu.rows", kRequired, Range{1, 4096}, "systolic array rows", &TpuConfig::mxu,
              &TpuConfig::Mxu::rows);
    s.integer("mxu.cols", kRequired, Range{1, 4096}, "systolic array columns", &TpuConfig::mxu,
              &TpuConfig::Mxu::cols);
    s.choice("mxu.dataflow", "weight_stationary",
             {"weight_stationary", "output_stationary", "input_stationary"}, "systolic dataflow",
             &TpuConfig::mxu, &TpuConfig::Mxu::dataflow);
    declare_rates(s, "mxu", "one matrix unit", &TpuConfig::mxu, &TpuConfig::Mxu::rates);
    s.real("vpu_per_clk", kRequired, Range{1, 1e7},
           "vector unit FP32 operations per clock per core", &TpuConfig::vpu_per_clk);
    declare_memory(s, "hbm", "device memory (HBM or DDR)", "500 ns", &TpuConfig::hbm);
    s.quantity("vmem", Unit::kBytes, kRequired, Range{1024, 1e12},
               "on-chip vector/unified buffer per chip", &TpuConfig::vmem_bytes);
    s.quantity("op_overhead", Unit::kSeconds, "1 us", Range{0, 1e-3},
               "fixed cost of one compiled op", &TpuConfig::op_overhead_s);
    s.integer("dma.stages", "2", Range{1, 64},
              "tiles whose operands the DMA engine loads ahead of the compute unit (2 = double "
              "buffering; 1 = no overlap of loads with compute)",
              &TpuConfig::dma_stages);
    declare_link(s, &TpuConfig::link);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "chip power limit (0 = not published)",
               &TpuConfig::tdp_w);
    return s;
  }();
  return s;
}

class TpuDevice : public EngineDevice {
 public:
  TpuDevice(const TpuConfig& c, std::string name, std::string fp)
      : EngineDevice(std::move(name), "tpu", std::move(fp), make_spec(c), c.clock_hz,
                     c.hbm.size_bytes, c.link),
        c_(c) {}

 protected:
  UnitChoice choose_unit(const Op& op) const override {
    if (op.kind == OpKind::kGemm || op.kind == OpKind::kAttention)
      return matrix_unit(c_.mxu.rates, op, double(c_.mxu.count * c_.cores) * c_.clock_hz,
                         ComputeUnit::kMxu);
    return UnitChoice{true, "", {ComputeUnit::kVpu}, c_.vpu_per_clk * c_.cores * c_.clock_hz};
  }
  // The VPU (and the sparse-format path on it) computes in fp32.
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
  double launch_overhead_s(const Op&) const override { return c_.op_overhead_s; }
  double vector_flops_per_s(const Op& op) const override {
    (void)op;
    return c_.vpu_per_clk * c_.cores * c_.clock_hz;
  }

 private:
  static EngineSpec make_spec(const TpuConfig& c) {
    EngineSpec spec;
    spec.levels.push_back({"hbm", c.hbm.size_bytes, c.hbm.bw_bytes_per_s, c.hbm.latency_s, 0});
    spec.buffer_stages = static_cast<int>(c.dma_stages);
    return spec;
  }
  TpuConfig c_;
};

}  // namespace

void register_tpu(DeviceRegistry& r) {
  r.add(device_type<TpuConfig, TpuDevice>("tpu", tpu_schema()));
}

}  // namespace xpusim
