// First-slice multicore CPU: a matrix extension (AMX) or SIMD units run GEMMs and attention,
// SIMD runs elementwise work, and every operand streams from DRAM once. Rates per core per clock.
#include <algorithm>
#include <memory>

#include "arch/dtype_rates.h"
#include "arch/engine_device.h"
#include "arch/link_config.h"
#include "arch/memory_config.h"
#include "arch/registry.h"

namespace xpusim {
namespace {

struct CpuConfig {
  std::string name, description;
  double clock_hz = 0;  // all-core turbo under vector load
  int64_t cores = 0;
  DtypeRates simd;       // per core
  DtypeRates matrix;     // per core (AMX tiles); all zero when absent
  double l2_bytes = 0;   // per core
  double llc_bytes = 0;  // shared
  MemoryConfig dram;
  double op_overhead_s = 0;
  int64_t dma_stages = 2;  // tiles loaded ahead of the compute unit
  LinkConfig link;
  double tdp_w = 0;
};

const Schema<CpuConfig>& cpu_schema() {
  static const Schema<CpuConfig> s = [] {
    Schema<CpuConfig> s("cpu",
                        "multicore CPU: SIMD and matrix extensions, cache hierarchy and DRAM");
    s.file_name("name", "", "preset name (names its resolved file in the output folder)",
                &CpuConfig::name);
    s.text("description", "", "what this preset is, with its public source",
           &CpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11},
               "all-core clock under vector load", &CpuConfig::clock_hz);
    s.integer("cores", kRequired, Range{1, 100000}, "physical cores", &CpuConfig::cores);
    declare_rates(s, "simd", "SIMD units of one core", &CpuConfig::simd);
    declare_rates(s, "matrix", "matrix extension (e.g. AMX) of one core", &CpuConfig::matrix);
    s.quantity("l2.size", Unit::kBytes, kRequired, Range{1024, 1e10}, "private L2 cache per core",
               &CpuConfig::l2_bytes);
    s.quantity("llc.size", Unit::kBytes, kRequired, Range{1024, 1e11}, "shared last-level cache",
               &CpuConfig::llc_bytes);
    declare_memory(s, "dram", "main memory", "100 ns", &CpuConfig::dram);
    s.quantity("op_overhead", Unit::kSeconds, "5 us", Range{0, 1e-2},
               "fixed cost of one operator (thread fork/join)", &CpuConfig::op_overhead_s);
    s.integer("dma.stages", "2", Range{1, 64},
              "tiles whose operands the DMA engine loads ahead of the compute unit (2 = double "
              "buffering; 1 = no overlap of loads with compute)",
              &CpuConfig::dma_stages);
    declare_link(s, &CpuConfig::link);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "package power limit (0 = not published)",
               &CpuConfig::tdp_w);
    return s;
  }();
  return s;
}

class CpuDevice : public EngineDevice {
 public:
  CpuDevice(const CpuConfig& c, std::string name, std::string fp)
      : EngineDevice(std::move(name), "cpu", std::move(fp), make_spec(c), c.clock_hz,
                     c.dram.size_bytes, c.link),
        c_(c) {}

 public:
  // AMX tiles where the format has them, else the SIMD units, on every core.
  Roofline roofline(DType d) const override {
    const double per_clk = c_.matrix.per_clk(d) > 0 ? c_.matrix.per_clk(d) : c_.simd.per_clk(d);
    return {double(c_.cores) * per_clk * c_.clock_hz, c_.dram.bw_bytes_per_s, "dram"};
  }

 protected:
  UnitChoice choose_unit(const Op& op) const override {
    const double cores =
        op.threads > 0 ? std::min<double>(op.threads, double(c_.cores)) : double(c_.cores);
    const double clocks = cores * c_.clock_hz;
    if (op.kind == OpKind::kGemm || op.kind == OpKind::kAttention) {
      if (c_.matrix.per_clk(op.dtype) > 0)
        return matrix_unit(c_.matrix, op, clocks, ComputeUnit::kAmx);
      return matrix_unit(c_.simd, op, clocks, ComputeUnit::kSimd);
    }
    return UnitChoice{true, "", {ComputeUnit::kSimd}, c_.simd.fp32 * clocks};
  }
  // The sparse-format path runs on the SIMD units in fp32.
  bool supports(DType d, ComputeUnit unit) const override {
    switch (unit) {
      case ComputeUnit::kAmx:
        return c_.matrix.per_clk(d) > 0;
      case ComputeUnit::kSimd:
        return c_.simd.per_clk(d) > 0;
      case ComputeUnit::kVector:
        return d == DType::kFp32 && c_.simd.fp32 > 0;
      default:
        return false;
    }
  }
  double launch_overhead_s(const Op&) const override { return c_.op_overhead_s; }
  double vector_flops_per_s(const Op& op) const override {
    (void)op;
    return c_.simd.fp32 *
           (op.threads > 0 ? std::min<double>(op.threads, double(c_.cores)) : double(c_.cores)) *
           c_.clock_hz;
  }

 private:
  static EngineSpec make_spec(const CpuConfig& c) {
    EngineSpec spec;
    spec.levels.push_back({"dram", c.dram.size_bytes, c.dram.bw_bytes_per_s, c.dram.latency_s, 0});
    spec.buffer_stages = static_cast<int>(c.dma_stages);
    return spec;
  }
  CpuConfig c_;
};

}  // namespace

void register_cpu(DeviceRegistry& r) {
  r.add(device_type<CpuConfig, CpuDevice>("cpu", cpu_schema()));
}

}  // namespace xpusim
