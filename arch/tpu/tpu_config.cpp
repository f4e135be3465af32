// The TPU schema: every parameter declared once (path, unit, default, range, help).
#include "arch/tpu/tpu_config.h"

#include <algorithm>

namespace xpusim {

Dataflow TpuConfig::dataflow() const {
  if (mxu.dataflow == "os") return Dataflow::kOs;
  if (mxu.dataflow == "is") return Dataflow::kIs;
  return Dataflow::kWs;
}

AreaInputs tpu_area_inputs(const TpuConfig& c) {
  AreaInputs in;
  const AreaConfig::Die& die = c.area.die;
  in.cores = std::max(die.cores, c.cores);  // a die holds at least the cores enabled
  const double arrays = double(in.cores) * double(c.mxu.count);
  const DtypeRates& r = c.mxu.rates;
  DtypeRates& m = in.macs_per_clk;  // a multiply-add is 2 operations
  m.fp32 = r.fp32 / 2 * arrays, m.tf32 = r.tf32 / 2 * arrays, m.bf16 = r.bf16 / 2 * arrays;
  m.fp16 = r.fp16 / 2 * arrays, m.fp8 = r.fp8 / 2 * arrays, m.int8 = r.int8 / 2 * arrays;
  m.int4 = r.int4 / 2 * arrays;
  in.vector_lanes = c.vpu_per_clk / 2 * double(in.cores);
  const double operands =
      (c.sram.ifmap_bytes + c.sram.filter_bytes + c.sram.ofmap_bytes) * double(in.cores);
  in.sram_bytes[size_t(SramKind::kBuffer)] =
      std::max({die.shared_sram_bytes, operands, c.vmem_bytes});
  in.memory_phys = die.memory_phys;
  in.links = die.links;
  return in;
}

const Schema<TpuConfig>& tpu_schema() {
  static const Schema<TpuConfig> s = [] {
    Schema<TpuConfig> s(
        "tpu",
        "TPU-style accelerator: systolic matrix units (folds, fill and drain as in SCALE-Sim v2), "
        "double-buffered operand SRAMs fed by a DMA engine from HBM, a vector unit");
    s.file_name("name", "", "preset name (names its resolved file in the output folder)",
                &TpuConfig::name);
    s.text("description", "", "what this preset is, with its public source",
           &TpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11}, "core clock",
               &TpuConfig::clock_hz);
    s.integer("cores", "1", Range{1, 1024},
              "TensorCores per chip; a GEMM's folds are split over "
              "every array of every core",
              &TpuConfig::cores);
    s.integer("mxu.count", kRequired, Range{1, 4096}, "matrix units (systolic arrays) per core",
              &TpuConfig::mxu, &TpuConfig::Mxu::count);
    s.integer("mxu.rows", kRequired, Range{1, 4096}, "systolic array rows (R)", &TpuConfig::mxu,
              &TpuConfig::Mxu::rows);
    s.integer("mxu.cols", kRequired, Range{1, 4096}, "systolic array columns (C)", &TpuConfig::mxu,
              &TpuConfig::Mxu::cols);
    s.choice("mxu.dataflow", "ws", {"ws", "os", "is"},
             "systolic dataflow: weight-, output- or input-stationary (SCALE-Sim's mapping)",
             &TpuConfig::mxu, &TpuConfig::Mxu::dataflow);
    s.boolean("mxu.preload", "false",
              "the next fold's stationary operand shifts in while the current fold streams "
              "(double-buffered weight registers, as in TPU v1's matrix unit); false = each fold "
              "first loads it (SCALE-Sim)",
              &TpuConfig::mxu, &TpuConfig::Mxu::preload);
    s.choice("mxu.transpose", "free", {"free", "vector"},
             "layout changes a dataflow needs: activations are row-major X[M,K] and Y[M,N]; os "
             "streams and is holds Xᵀ, and is writes Yᵀ (ws needs neither; weights are laid out "
             "ahead of time). free: they arrive as needed (SCALE-Sim); vector: the vector unit "
             "transposes them, one element per vector operation, beside the arrays",
             &TpuConfig::mxu, &TpuConfig::Mxu::transpose);
    declare_rates(s, "mxu",
                  "one matrix unit (a rate above 2 x rows x cols = several multiply-adds "
                  "per PE per clock)",
                  &TpuConfig::mxu, &TpuConfig::Mxu::rates);
    s.real("vpu_per_clk", kRequired, Range{1, 1e7},
           "vector unit FP32 operations per clock per core", &TpuConfig::vpu_per_clk);
    s.integer("vpu.lanes", "1024", Range{1, 1 << 20},
              "FP32 elements one vector instruction covers (a TPU v4 vector register: 8 sublanes "
              "x 128 lanes): a row of an elementwise operator fills whole registers, and each "
              "reduction along a row (norms, softmax) adds log2(lanes) register-wide steps",
              &TpuConfig::vpu_lanes);
    s.real("vpu.kv_dequant_ops", "0", Range{0, 64},
           "vector operations per element to expand an 8-bit KV cache into the arrays' 16-bit "
           "format when a decode step reads it, beside the arrays (0: the arrays read the cache "
           "as stored)",
           &TpuConfig::vpu_kv_dequant_ops);
    s.quantity("sram.ifmap", Unit::kBytes, kRequired, Range{16, 1e12},
               "input (activation, SCALE-Sim ifmap) SRAM per core, double-buffered: half active, "
               "half filling",
               &TpuConfig::sram, &TpuConfig::Sram::ifmap_bytes);
    s.quantity("sram.filter", Unit::kBytes, kRequired, Range{16, 1e12},
               "weight (SCALE-Sim filter) SRAM per core, double-buffered", &TpuConfig::sram,
               &TpuConfig::Sram::filter_bytes);
    s.quantity("sram.ofmap", Unit::kBytes, kRequired, Range{16, 1e12},
               "output (SCALE-Sim ofmap) SRAM per core, double-buffered: half collects results, "
               "half drains",
               &TpuConfig::sram, &TpuConfig::Sram::ofmap_bytes);
    s.boolean("sram.accumulate", "false",
              "the output buffer accumulates partial sums across the K folds (TPU accumulators), "
              "so each output leaves once; false = every fold's partial sums drain (SCALE-Sim)",
              &TpuConfig::sram, &TpuConfig::Sram::accumulate);
    s.boolean("sram.reorder", "false",
              "the compiler may tile M so that a tile of the activations stays in the ifmap SRAM "
              "while all weights stream past it, when that moves fewer bytes than SCALE-Sim's "
              "fixed fold order (column folds outer, row folds inner)",
              &TpuConfig::sram, &TpuConfig::Sram::reorder);
    s.choice("sram.read_buffer", "tiles", {"tiles", "window"},
             "tiles: the DMA moves what each fold's operands need (an operand read again only "
             "when the fold order passes over it again); window: SCALE-Sim v2's buffers (each "
             "input SRAM streams its operand in one fixed order through a window of 100 address "
             "sets, half active, and a demand outside the window moves it on by half a buffer, "
             "wrapping round; the output SRAM drains half a buffer at a time), replayed row by "
             "row on one array with one multiply-add per PE per cycle (other GEMMs use tiles), "
             "and the DMA runs ahead of the array without a buffer bound, as SCALE-Sim's does",
             &TpuConfig::sram, &TpuConfig::Sram::read_buffer);
    declare_memory(s, "hbm", "device memory (HBM or DDR)", "500 ns", &TpuConfig::hbm);
    s.choice("hbm.mode", "bandwidth", {"bandwidth", "stall_free"},
             "bandwidth: operands move at hbm.bw and the arrays stall when prefetch falls behind; "
             "stall_free: memory never stalls the arrays (SCALE-Sim's CALC mode)",
             &TpuConfig::hbm_mode);
    s.boolean("hbm.per_operand", "false",
              "each operand SRAM (ifmap, filter, ofmap) has its own port of hbm.bw, as SCALE-Sim's "
              "USER bandwidth mode; false = the three share hbm.bw",
              &TpuConfig::hbm_per_operand);
    s.boolean("hbm.weights_only", "false",
              "only a GEMM's weights cross this memory; its activations stay in sram.ifmap and "
              "sram.ofmap (TPU v1: DDR3 is the Weight Memory, the host feeds the unified buffer "
              "over PCIe)",
              &TpuConfig::hbm_weights_only);
    s.boolean("hbm.overlap_ops", "false",
              "the first active half of each input SRAM fills while the previous operator runs "
              "and what the output SRAM holds at the end drains while the next one runs, so "
              "neither counts in this operator's time (SCALE-Sim's accounting); false = both "
              "exposed",
              &TpuConfig::hbm_overlap_ops);
    s.quantity("vmem", Unit::kBytes, kRequired, Range{16, 1e12},
               "on-chip memory per chip (capacity only; the operand buffers are sram.*)",
               &TpuConfig::vmem_bytes);
    s.quantity("op_overhead", Unit::kSeconds, "1 us", Range{0, 1e-3},
               "fixed cost of one compiled op", &TpuConfig::op_overhead_s);
    s.integer("dma.stages", "2", Range{1, 64},
              "folds whose operands the DMA engine loads ahead of the arrays (2 = double "
              "buffering; 1 = no overlap of loads with compute)",
              &TpuConfig::dma_stages);
    declare_link(s, &TpuConfig::link);
    s.integer("ici.torus_dims", "1", Range{1, 3},
              "dimensions of the chip-to-chip torus (TPU v5e: 2, v4: 3): an all-reduce or "
              "all-gather over p chips runs one ring per dimension it spans (p >= 4: 2, p >= 8: "
              "3), each on its own ports at link.bw, so the bytes split over them and the ring "
              "steps fall to the sum over dimensions; 1 = one ring",
              &TpuConfig::ici_torus_dims);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "chip power limit (0 = not published)",
               &TpuConfig::tdp_w);
    declare_power(s, "", "", &TpuConfig::power);
    declare_energy(s, "", &TpuConfig::energy);
    declare_area(s, {SramKind::kBuffer}, "TensorCore", &TpuConfig::area);
    return s;
  }();
  return s;
}

}  // namespace xpusim
