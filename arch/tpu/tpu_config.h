// The TPU family's parameters as one plain struct (units converted: Hz, bytes, bytes/s, s), and
// its schema. A bare SCALE-Sim-style array is the `systolic` preset with one core and one array.
#pragma once

#include <string>

#include "arch/area.h"
#include "arch/dtype_rates.h"
#include "arch/link_config.h"
#include "arch/memory_config.h"
#include "arch/power.h"
#include "arch/tpu/systolic.h"
#include "sim/config/schema.h"

namespace xpusim {

struct TpuConfig {
  std::string name, description;
  double clock_hz = 0;
  int64_t cores = 0;  // TensorCores per chip
  struct Mxu {
    int64_t count = 0;  // per core
    int64_t rows = 0, cols = 0;
    std::string dataflow;  // ws | os | is
    // The next fold's stationary operand shifts in while the current fold streams (a TPU's
    // double-buffered weight registers); false = each fold loads it first (SCALE-Sim).
    bool preload = false;
    // free: operands arrive in the layout the dataflow consumes (SCALE-Sim); vector: the vector
    // unit transposes the activations os and is consume as Xᵀ, and the Yᵀ that is produces.
    std::string transpose = "free";
    DtypeRates rates;  // per MXU
  } mxu;
  double vpu_per_clk = 0;  // vector-unit FP32 operations per clock per core
  int64_t vpu_lanes = 1;   // FP32 elements one vector instruction covers
  // Vector operations per element that expand an 8-bit KV cache to the arrays' 16-bit format as
  // a decode step reads it (the serving stack dequantises the cache before its attention GEMMs).
  double vpu_kv_dequant_ops = 0;
  struct Sram {
    double ifmap_bytes = 0, filter_bytes = 0, ofmap_bytes = 0;  // per core, double-buffered
    bool accumulate = false;  // the ofmap buffer accumulates partial sums across row folds
    bool reorder = false;     // tile M to keep X resident when that moves fewer bytes
    // tiles: each fold's operands move as the fold order needs them; window: SCALE-Sim v2's
    // read buffers (a window of address sets streaming each operand in one fixed order) and
    // write buffer, arch/tpu/window_buffer.h
    std::string read_buffer = "tiles";
  } sram;
  MemoryConfig hbm;
  std::string hbm_mode;           // bandwidth | stall_free
  bool hbm_per_operand = false;   // each operand SRAM has its own port of hbm.bw (SCALE-Sim)
  bool hbm_weights_only = false;  // activations live on chip (TPU v1's unified buffer)
  bool hbm_overlap_ops = false;   // first input halves load, last output half drains off the op
  double vmem_bytes = 0;
  double op_overhead_s = 0;
  int64_t dma_stages = 2;  // folds whose operands the DMA engine loads ahead of the arrays
  LinkConfig link;
  int64_t ici_torus_dims = 1;  // torus dimensions whose rings a collective runs at once
  double tdp_w = 0;
  PowerConfig power;  // energy and the power-limited clock (arch/power.h)
  EnergyConfig energy;
  AreaConfig area;  // first-order die area (arch/area.h)

  Dataflow dataflow() const;
};

const Schema<TpuConfig>& tpu_schema();
// The die's contents for the area model: TensorCores (area.die.cores), their arrays and vector
// units, the on-chip buffers (the larger of the operand SRAMs over all cores and vmem: on TPU v1
// vmem is the unified buffer the operand SRAMs describe), the memory PHYs and the links.
AreaInputs tpu_area_inputs(const TpuConfig& c);

}  // namespace xpusim
