// The SIMT GPU's parameters as one plain struct (SI units: Hz, bytes, bytes/s, seconds), and the
// schema that declares each of them once. Hardware numbers come from public datasheets; the
// kernel-library numbers (achieved efficiencies, fixed latencies) are calibrated, see the YAML.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "arch/area.h"
#include "arch/dtype_rates.h"
#include "arch/link_config.h"
#include "arch/power.h"
#include "arch/memory_config.h"
#include "sim/config/schema.h"
#include "workloads/op.h"

namespace xpusim {

// What a kernel of one elementwise family achieves (a property of the library's kernel).
struct EwKernelConfig {
  double bw = 1;               // fraction of the achievable HBM bandwidth it reaches
  double cycles_per_elem = 0;  // serial SM cycles per element of one CTA's work (its latency)
  double fixed_s = 0;          // fixed latency of the kernel beyond the launch
  // FP32-pipe instruction slots per element (its arithmetic: a tanh GELU's libdevice tanhf, the
  // conversions, the address math), issued at sm.fp32_per_clk / 2 per SM per clock: a floor on
  // the kernel's SM time that scales with the clock. 0: not known (the kernel is taken to keep
  // up with memory).
  double issue_per_elem = 0;
};

struct GpuConfig {
  std::string name, description;
  double clock_hz = 0;         // SM clock while running (boost)
  double tensor_clock_hz = 0;  // clock at which the datasheet's tensor throughput is quoted
  struct Sm {
    int64_t count = 0;
    double fp32_per_clk = 0;  // CUDA-core FP32 FLOP per clock per SM (FMA = 2)
    double shared_mem_bytes = 0;
    double l1_bytes = 0;            // combined L1/shared memory per SM (0 = shared_mem_bytes)
    int64_t registers = 0;          // 32-bit registers per SM
    int64_t max_warps = 0;          // resident warps per SM
    int64_t max_ctas = 0;           // resident CTAs per SM
    double load_bytes_per_clk = 0;  // global-load bytes one SM sustains from HBM (latency-bound)
    double l1_bytes_per_clk = 128;  // the SM's L1 load path: the bound of every per-SM load rate
    DtypeRates tensor;
  } sm;
  MemoryConfig hbm;
  double hbm_efficiency = 1;  // achievable fraction of hbm.bw for streaming reads
  struct L2 {
    double size_bytes = 0;
    double bw_bytes_per_s = 0;
    // Operands an op's caller touches again and again (Op::reuse_bytes, the footprint between two
    // calls of it): a footprint up to reuse_whole stays in L2 whole (no HBM traffic); a larger one
    // keeps reuse_keep bytes of it there (the replacement policy protects part of a cyclic
    // footprint from thrashing), so that share of its HBM traffic hits. 0: nothing stays.
    double reuse_whole_bytes = 0;
    double reuse_keep_bytes = 0;
  } l2;
  // cudaMemcpy device to device: up to a per-call size the driver's SM copy kernel moves it at
  // kernels.elementwise.copy's rate; from large_from bytes per call on (read bytes) the copy runs
  // at large_bw of the achievable HBM rate (another path of the driver). 0: one path.
  struct Memcpy {
    double large_from_bytes = 0;
    double large_bw = 0;
  } memcpy_d2d;
  double launch_overhead_s = 0;  // gap between back-to-back kernels in a CUDA graph
  LinkConfig link;               // NVLink, for collectives
  double tdp_w = 0;
  // Energy and the power-limited clock (arch/power.h). Kernels that run back to back for longer
  // than the power controller's window drive the card to its power limit, and it lowers the SM
  // clock; the kernel-library efficiencies below are fitted on such sustained runs (at the clock
  // power.timing_tdp gives them). In a mixed stream, light kernels let the clock recover.
  PowerConfig power;
  // Whether the clock at which a tensor-core kernel's fitted time holds is floored by the peak rate
  // of the SMs it occupies (GpuDevice::evaluate). It turns energy errors into time errors under
  // the cap, so it is on only where the energies are measured (the GH100 presets).
  bool peak_clock_floor = false;
  EnergyConfig energy;
  AreaConfig area;  // first-order die area (arch/area.h)
  struct Gemm {
    DtypeRates efficiency;     // achieved fraction of the per-format peak in the main loop
    double fixed_s = 0;        // prologue + epilogue latency of one GEMM kernel
    DtypeRates extra_fixed_s;  // per format: the library's extra fixed latency (fp32, tf32, int8)
    double k_block_bytes =
        128;                  // bytes of K per row per pipeline stage (64 bf16, 32 fp32, 128 fp8)
    int64_t stages = 4;       // shared-memory pipeline depth
    int64_t cluster = 1;      // CTAs of a cluster sharing operand loads by TMA multicast
    int64_t m_tile_step = 0;  // granularity of a tile's M side (0: powers of two only)
    int64_t m_tile_min = 64;  // smallest such M side
    int64_t m_tile_extra_parts = 0;  // large M: also tiles of ceil(M/256)+1.. parts, this many more
    // Hopper's small-M (M <= 16, 16-bit) kernels split K, with a separate reduction kernel, when
    // K is at least this and the weight rows make at most half as many 64-row tiles as SMs
    // (0: the split is chosen by estimated time alone).
    int64_t small_m_split_min_k = 0;
    double unaligned_per_clk = 0;    // per-SM rate of the fallback kernel for unaligned rows
    int64_t unaligned_max_elems = 8;    // widest load (elements) of the fallback kernels
    double unaligned_elem_per_clk = 0;  // ... for rows aligned to one element only (0: as above)
    // Global-load bytes per SM per clock of kernels that read rows not 16-byte aligned: narrow
    // loads make them issue-bound in the SM, not bound by HBM (whole-chip rate = SMs x clock x it).
    double unaligned_load_bytes_per_clk = 0;
    bool int8_split_k = true;        // whether the int8 (int32-output) kernels split K or stream K
    double split_k_fixed_s = 0;      // extra fixed cost of a split-K GEMM (its reduction)
    double split_k_reduce_s = 0;     // 16-bit kernels: the splitKreduce kernel's own duration
                                     // (its graph node also pays a launch gap); 0: split_k_fixed
    double imma_load_latency_s = 0;  // IMMA kernels: loaded latency of one K block's loads
    double imma_narrow_tile_factor =
        1;  // IMMA 128x64 tile: its main-loop rate relative to the others
  } gemm;
  // cuSPARSELt's 2:4 GEMM, as its kernel names show (validation/gpu/data/gemm_kernels.csv): one
  // tile shape at every size (tile_n weight rows x tile_m token rows x tile_k of K), CTAs ordered
  // weight tiles first, and a "segment-K" variant that halves K for small grids over long K.
  struct Sparse {
    int64_t tile_n = 128, tile_m = 256, tile_k = 64;
    struct Format {
      double efficiency = 1;  // main-loop rate as a fraction of the datasheet 2:4 rate
      double fixed_s = 0;     // fixed cost of one kernel (replaces gemm.fixed_s)
      int64_t cluster = 1;    // CTAs of a cluster sharing the token tile by TMA multicast
      // A CTA whose token tile holds fewer than full_rows rows runs a slow main loop (measured:
      // M = 1..128 and 320 take twice as long as M = 256): per K step at least slow_cycles, and
      // the slow CTAs running together share slow_bytes_per_clk of weight loads (whole chip).
      int64_t full_rows = 0;
      double slow_cycles = 0;
      double slow_bytes_per_clk = 0;
      // Segment-K: grids of at most split_max_ctas CTAs over more than split_min_k_steps K steps
      // run in two K halves, at split_fixed_s extra.
      int64_t split_max_ctas = 0, split_min_k_steps = 0;
      double split_fixed_s = 0;
    } bf16, fp16;  // formats other than fp16 take bf16's
  } sparse;
  struct Attention {
    double efficiency = 1;  // flash attention's fraction of the 16-bit tensor peak
    double prefill_fixed_s = 0;
    double cta_overhead_s = 0;  // per prefill CTA: Q load and O store around the KV loop
    double decode_fixed_s = 0;
    double decode_load_bytes_per_clk = 0;  // per-SM load rate of the split-KV decode kernel
    double combine_s = 0;  // split-KV decode: the combine kernel's own duration (beyond its gap)
    // SM cycles per attention score of a flash kernel's softmax (exp2 on the SFU, the row max and
    // sum, the rescale and the conversion on the FP32 pipe), which do not shrink with head_dim.
    // The main-loop rates are fitted at head_dim 128 and include it there; a smaller head_dim
    // pays it on more scores per tensor FLOP.
    double softmax_cycles_per_score = 0;
    // Hopper fused-attention kernels (AttnImpl::kCudnn, kFlash3): a wgmma prefill kernel at
    // `efficiency` of the 16-bit peak with its fixed and per-CTA costs, and a decode kernel with
    // its fixed latency and per-SM load rate. efficiency 0: the card has no such kernel, and the
    // stack falls back to FlashAttention-2 (as PyTorch does before sm90 and vLLM on Ampere).
    struct Hopper {
      double efficiency = 0;
      double prefill_fixed_s = 0;
      double cta_overhead_s = 0;
      double decode_fixed_s = 0;
      double decode_load_bytes_per_clk = 0;
    } cudnn, flash3;
  } attention;
  // PyTorch eager's generic kernels (EwImpl::kEager), by kind: vectorised pointwise kernels
  // (vectorized_elementwise_kernel), unvectorised ones that index each element (elementwise_kernel
  // and unrolled_elementwise_kernel: broadcasts, strided views, dtype casts) and row reductions
  // (reduce_kernel, a mean). torch.compile's kernels (EwImpl::kCompiled) per measured family.
  struct Eager {
    EwKernelConfig vectorized, strided, reduce;
  } eager;
  // Inductor's LayerNorm is a Welford reduction (triton_red_fused_native_layer_norm, looped even
  // at 768 elements per row) and GELU reads one contiguous operand: each has its own kernel
  // parameters (measured in whole gpt2 steps, validation/gpu/stacks/h200/e2e_stacks_diag3_*).
  // bw 0 (unset): the family's `norm` / `pointwise` parameters.
  struct Compiled {
    EwKernelConfig norm, pointwise;  // RMSNorm (and unset LayerNorm); SiLU·mul, RoPE (and GELU)
    EwKernelConfig layernorm, gelu;
  } compiled;
  // NCCL's ring protocols (collectives): each is a fixed latency, a latency per ring step and a
  // fraction of the link bandwidth; the fastest for the message serves it. Unset (efficiency 0):
  // the link's alpha-beta cost (link.latency per step, link.bw).
  struct Collective {
    struct Protocol {
      double base_s = 0, step_s = 0, efficiency = 0;
    } ll, simple;
    double eager_host_s = 0;  // host time per eager collective call (PyTorch + c10d + enqueue)
  } collective;
  struct Elementwise {
    // One per calibrated kind (EwKindInfo::calibrated), indexed by ew_index(). rope: one
    // pointwise kernel of a RoPE (the e2e stack runs rotate-half as several); kv_append: a copy
    // of new keys or values into the cache. other: the rest (embedding, relu, quantize).
    std::array<EwKernelConfig, kEwKindCount> kernel{};
    EwKernelConfig other;
    const EwKernelConfig& of(std::optional<EwKind> k) const {
      return k && ew_info(*k).calibrated ? kernel[ew_index(*k)] : other;
    }
  } ew;
};

const Schema<GpuConfig>& gpu_schema();
// Bounds that join several parameters (every per-SM load rate within the SM's L1 path); each
// violation goes to `errors` at its key in `tree`. Rates that a what-if may leave above a slower
// memory (a whole-chip load rate above HBM's peak) are not errors: the engine's memory bounds
// them; tests/unit/test_presets.cpp checks that the shipped presets keep them physical.
void check_gpu_physics(const GpuConfig& c, const CfgNode& tree, ErrorList& errors);
// The die's contents for the area model: the physical SMs (area.die.cores), their tensor MACs,
// CUDA-core lanes, register files and L1s, the L2, the HBM PHYs and the links.
AreaInputs gpu_area_inputs(const GpuConfig& c);

}  // namespace xpusim
