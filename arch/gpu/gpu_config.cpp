// The GPU schema: every parameter declared once (path, unit, default, range, help).
#include "arch/gpu/gpu_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace xpusim {
namespace {

// The datasets (sim/config/schema.cpp, calibration_datasets) the GPU's fitted values come from.
constexpr const char* kKernels = "h100-kernels";
constexpr const char* kNccl = "h200x4-nccl";
constexpr const char* kEnergy = "h200-energy";
constexpr const char* kStacks = "h200-stacks";

// `field...`: the member path from GpuConfig::ew to the kernel's EwKernelConfig.
template <class... F>
void declare_ew(Schema<GpuConfig>& s, const std::string& op, bool fitted, F... field) {
  const std::string p = "kernels.elementwise." + op;
  s.real(p + ".bw", kRequired, Range{0.01, 1},
         op + " kernel: fraction of the achievable HBM bandwidth (hbm.efficiency) it reaches on "
              "large inputs",
         &GpuConfig::ew, field..., &EwKernelConfig::bw);
  if (fitted) s.calibrated(kKernels);
  s.real(p + ".cycles_per_elem", kRequired, Range{0, 100},
         op + " kernel: serial SM cycles per element of one CTA (sets the latency of short rows)",
         &GpuConfig::ew, field..., &EwKernelConfig::cycles_per_elem);
  if (fitted) s.calibrated(kKernels);
  s.quantity(p + ".fixed", Unit::kSeconds, kRequired, Range{0, 1e-3},
             op + " kernel: fixed latency beyond the launch gap", &GpuConfig::ew, field...,
             &EwKernelConfig::fixed_s);
  if (fitted) s.calibrated(kKernels);
  s.real(p + ".issue", "0", Range{0, 1000},
         op + " kernel: FP32-pipe instruction slots per element, issued at sm.fp32_per_clk / 2 "
              "per SM per clock (a floor on its SM time that follows the clock; 0 = not known)",
         &GpuConfig::ew, field..., &EwKernelConfig::issue_per_elem);
  // Derived from the energy dataset's L2-resident and capped runs (gelu); 0 elsewhere, which a fit
  // leaves alone.
  if (fitted) s.calibrated(kEnergy);
}

// A software stack's kernel (kernels.eager.*, kernels.compiled.*): its bandwidth fraction, cycles
// per element and fixed latency, fitted on the stack dataset, and for eager kernels the issue floor
// on strided views (fitted on the energy dataset). `group` is the member of GpuConfig holding it.
template <class Group>
void declare_stack_kernel(Schema<GpuConfig>& s, const std::string& p, const std::string& w,
                          const char* bw_default, bool issue, Group GpuConfig::*group,
                          EwKernelConfig Group::*field) {
  // An optional kernel (default bw 0) may stay unset; a set one reaches at least 1 %.
  const double bw_min = std::string_view(bw_default) == "0" ? 0.0 : 0.01;
  s.real(p + ".bw", bw_default, Range{bw_min, 1}, w + ": fraction of the achievable HBM bandwidth",
         group, field, &EwKernelConfig::bw)
      .calibrated(kStacks);
  s.real(p + ".cycles_per_elem", "0", Range{0, 100}, w + ": serial SM cycles per element of a CTA",
         group, field, &EwKernelConfig::cycles_per_elem)
      .calibrated(kStacks);
  s.quantity(p + ".fixed", Unit::kSeconds, "0 s", Range{0, 1e-3},
             w + ": fixed latency beyond the launch gap", group, field, &EwKernelConfig::fixed_s)
      .calibrated(kStacks);
  if (!issue) return;
  s.real(p + ".issue", "0", Range{0, 1000},
         w + ": FP32-pipe instruction slots per element on non-contiguous views (per-element "
             "offsets), issued at sm.fp32_per_clk / 2 per SM per clock (a floor on its SM time "
             "that follows the clock, on grids of at least one CTA per SM; 0 = not known)",
         group, field, &EwKernelConfig::issue_per_elem)
      .calibrated(kEnergy);
}

}  // namespace

const Schema<GpuConfig>& gpu_schema() {
  static const Schema<GpuConfig> s = [] {
    Schema<GpuConfig> s(
        "gpu",
        "SIMT GPU: SMs with tensor cores, L2 and HBM, run at CTA/wave granularity with "
        "cuBLAS-, flash-attention- and PyTorch-like kernel models");
    s.file_name("name", "", "preset name (names its resolved file in the output folder)",
                &GpuConfig::name);
    s.text("description", "", "what this preset is, with its public source",
           &GpuConfig::description);
    s.quantity("clock", Unit::kHertz, kRequired, Range{1e7, 1e11}, "SM boost clock",
               &GpuConfig::clock_hz);
    s.quantity("tensor_clock", Unit::kHertz, kRequired, Range{1e7, 1e11},
               "clock at which the tensor cores sustain their datasheet throughput",
               &GpuConfig::tensor_clock_hz);
    s.integer("sm.count", kRequired, Range{1, 100000}, "number of streaming multiprocessors",
              &GpuConfig::sm, &GpuConfig::Sm::count);
    s.real("sm.fp32_per_clk", kRequired, Range{1, 1e6},
           "CUDA-core FP32 FLOP per clock per SM (FMA = 2)", &GpuConfig::sm,
           &GpuConfig::Sm::fp32_per_clk);
    s.quantity("sm.shared_mem", Unit::kBytes, kRequired, Range{1024, 1e9},
               "shared memory per SM (usable by CTAs)", &GpuConfig::sm,
               &GpuConfig::Sm::shared_mem_bytes);
    s.quantity("sm.l1_size", Unit::kBytes, "0 B", Range{0, 1e9},
               "combined L1 data cache / shared memory per SM, as built (A100: 192 KiB, H100: "
               "256 KiB); for the area model only (0 = sm.shared_mem)",
               &GpuConfig::sm, &GpuConfig::Sm::l1_bytes);
    s.integer("sm_resources.registers", "65536", Range{1024, 1e7}, "32-bit registers per SM",
              &GpuConfig::sm, &GpuConfig::Sm::registers);
    s.integer("sm_resources.max_warps", "64", Range{1, 1024}, "resident warps per SM",
              &GpuConfig::sm, &GpuConfig::Sm::max_warps);
    s.integer("sm_resources.max_ctas", "32", Range{1, 1024}, "resident CTAs (thread blocks) per SM",
              &GpuConfig::sm, &GpuConfig::Sm::max_ctas);
    s.real("sm_resources.load_bytes_per_clk", kRequired, Range{0.1, 4096},
           "global-load bytes per clock one SM sustains from HBM (limits kernels that occupy few "
           "SMs)",
           &GpuConfig::sm, &GpuConfig::Sm::load_bytes_per_clk)
        .calibrated(kKernels);
    s.real("sm.l1_bytes_per_clk", "128", Range{1, 4096},
           "bytes per clock through one SM's L1 load path (A100, H100: 128); every per-SM load "
           "rate below is bounded by it",
           &GpuConfig::sm, &GpuConfig::Sm::l1_bytes_per_clk);
    declare_rates(s, "sm.tensor", "tensor cores of one SM (dense)", &GpuConfig::sm,
                  &GpuConfig::Sm::tensor);
    declare_memory(s, "hbm", "device memory (HBM)", "500 ns", &GpuConfig::hbm);
    s.real("hbm.efficiency", kRequired, Range{0.05, 1},
           "achievable fraction of hbm.bw for streaming reads: the measured read ceiling of the "
           "card (a read-only sum over 1-4 GiB), not a fitted value",
           &GpuConfig::hbm_efficiency);
    s.quantity("l2.size", Unit::kBytes, kRequired, Range{1024, 1e12}, "L2 cache capacity",
               &GpuConfig::l2, &GpuConfig::L2::size_bytes);
    s.quantity("l2.bw", Unit::kBytesPerSecond, kRequired, Range{1e9, 1e15},
               "L2 read bandwidth (all slices)", &GpuConfig::l2, &GpuConfig::L2::bw_bytes_per_s)
        .calibrated(kKernels);
    s.quantity("l2.reuse_whole", Unit::kBytes, "0 B", Range{0, 1e12},
               "largest footprint an op's caller touches between two calls of it (op reuse_bytes: "
               "a benchmark loop re-running one kernel) that stays in L2 whole: no HBM traffic; "
               "at most l2.size",
               &GpuConfig::l2, &GpuConfig::L2::reuse_whole_bytes)
        .calibrated(kEnergy);
    s.quantity("l2.reuse_keep", Unit::kBytes, "0 B", Range{0, 1e12},
               "of a larger reused footprint, the bytes that still stay in L2 (their share of the "
               "HBM traffic hits); at most l2.reuse_whole",
               &GpuConfig::l2, &GpuConfig::L2::reuse_keep_bytes)
        .calibrated(kEnergy);
    s.quantity("memcpy.large_from", Unit::kBytes, "0 B", Range{0, 1e13},
               "cudaMemcpy device to device: the per-call size (bytes read) from which the "
               "driver copies at memcpy.large_bw instead of its SM copy kernel's rate "
               "(kernels.elementwise.copy); 0 = one path for every size",
               &GpuConfig::memcpy_d2d, &GpuConfig::Memcpy::large_from_bytes)
        .calibrated(kEnergy);
    s.real("memcpy.large_bw", "0", Range{0, 1},
           "cudaMemcpy device to device from memcpy.large_from bytes per call: its fraction of "
           "the achievable HBM bandwidth (hbm.efficiency), read + write bytes",
           &GpuConfig::memcpy_d2d, &GpuConfig::Memcpy::large_bw)
        .calibrated(kEnergy);
    s.quantity("launch_overhead", Unit::kSeconds, kRequired, Range{0, 1e-3},
               "gap between back-to-back kernels in one CUDA graph (per launch)",
               &GpuConfig::launch_overhead_s)
        .calibrated(kKernels);
    declare_link(s, &GpuConfig::link);
    s.quantity("tdp", Unit::kWatts, "0 W", Range{0, 1e5}, "board power limit (0 = not published)",
               &GpuConfig::tdp_w);
    declare_power(s, kEnergy, kKernels, &GpuConfig::power);
    declare_energy(s, kEnergy, &GpuConfig::energy);
    s.boolean("power.peak_clock_floor", "false",
              "floor the clock at which a tensor-core kernel's fitted time holds by its SMs' peak "
              "rate (a time the SMs could not reach at a lower clock); only where the energies are "
              "measured, since under the cap it turns an energy error into a time error",
              &GpuConfig::peak_clock_floor);
    declare_area(s, {SramKind::kRf, SramKind::kL1, SramKind::kL2}, "SM", &GpuConfig::area);

    auto eff = [&](const char* f, double DtypeRates::*field) {
      s.real(std::string("kernels.gemm.efficiency.") + f, "0", Range{0, 1},
             std::string("GEMM main loop: achieved fraction of the ") + f + " peak (0 = no kernel)",
             &GpuConfig::gemm, &GpuConfig::Gemm::efficiency, field)
          .calibrated(kKernels);
    };
    eff("fp32", &DtypeRates::fp32);
    eff("tf32", &DtypeRates::tf32);
    eff("bf16", &DtypeRates::bf16);
    eff("fp16", &DtypeRates::fp16);
    eff("fp8", &DtypeRates::fp8);
    eff("int8", &DtypeRates::int8);
    s.real("kernels.gemm.efficiency.int4", "0", Range{0, 1},
           "GEMM main loop, int4 x int4 (CUTLASS's s4 kernels where the tensor cores have an int4 "
           "path): achieved fraction of the int4 peak (0 = no kernel; not measured)",
           &GpuConfig::gemm, &GpuConfig::Gemm::efficiency, &DtypeRates::int4);
    s.quantity("kernels.gemm.fixed", Unit::kSeconds, kRequired, Range{0, 1e-3},
               "GEMM prologue + epilogue latency per kernel", &GpuConfig::gemm,
               &GpuConfig::Gemm::fixed_s)
        .calibrated(kKernels);
    for (auto [f, field] :
         {std::pair{"fp32", &DtypeRates::fp32}, std::pair{"tf32", &DtypeRates::tf32},
          std::pair{"int8", &DtypeRates::int8}})
      s.quantity(std::string("kernels.gemm.extra_fixed.") + f, Unit::kSeconds, "0 s",
                 Range{0, 1e-3},
                 std::string("GEMM: fixed latency of the library's ") + f +
                     " kernels beyond kernels.gemm.fixed",
                 &GpuConfig::gemm, &GpuConfig::Gemm::extra_fixed_s, field)
          .calibrated(kKernels);
    s.quantity("kernels.gemm.k_block", Unit::kBytes, "128 B", Range{8, 4096},
               "bytes of K per operand row in one shared-memory pipeline stage", &GpuConfig::gemm,
               &GpuConfig::Gemm::k_block_bytes);
    s.boolean("kernels.gemm.int8_split_k", "true",
              "whether the library's int8 GEMMs (int32 output) may split K or stream K across CTAs",
              &GpuConfig::gemm, &GpuConfig::Gemm::int8_split_k);
    s.integer("kernels.gemm.stages", "4", Range{1, 16},
              "shared-memory pipeline stages of a GEMM CTA", &GpuConfig::gemm,
              &GpuConfig::Gemm::stages);
    s.integer("kernels.gemm.cluster", "1", Range{1, 16},
              "CTAs of a thread-block cluster that share the A panel through TMA multicast (1 = no "
              "clusters)",
              &GpuConfig::gemm, &GpuConfig::Gemm::cluster);
    s.integer("kernels.gemm.m_tile_step", "0", Range{0, 256},
              "granularity of a tensor-core tile's M side beyond 64/128/256 (Hopper wgmma: 8; "
              "0 = powers of two only)",
              &GpuConfig::gemm, &GpuConfig::Gemm::m_tile_step);
    s.integer("kernels.gemm.m_tile_min", "64", Range{8, 256}, "smallest M side of such a tile",
              &GpuConfig::gemm, &GpuConfig::Gemm::m_tile_min);
    s.integer("kernels.gemm.m_tile_extra_parts", "0", Range{0, 64},
              "with m_tile_step: when M needs more than 256 rows of tile, also try tiles that "
              "cover M in up to this many more equal parts than the fewest (0: only 1-4 parts)",
              &GpuConfig::gemm, &GpuConfig::Gemm::m_tile_extra_parts);
    s.integer("kernels.gemm.small_m_split_min_k", "0", Range{0, 1 << 20},
              "Hopper small-M (M <= 16) 16-bit GEMMs: cuBLAS splits K (nvjet ..._splitK plus "
              "splitKreduce) when K is at least this and N is at most 32 rows per SM (half the "
              "SMs' worth of 64-row tiles); 0: by estimated time alone",
              &GpuConfig::gemm, &GpuConfig::Gemm::small_m_split_min_k);
    s.quantity("kernels.gemm.split_k_fixed", Unit::kSeconds, "0 us", Range{0, 1e-4},
               "extra fixed cost of a split-K GEMM: the reduction kernel or the memset before "
               "atomic accumulation",
               &GpuConfig::gemm, &GpuConfig::Gemm::split_k_fixed_s)
        .calibrated(kKernels);
    s.quantity("kernels.gemm.split_k_reduce", Unit::kSeconds, "0 us", Range{0, 1e-4},
               "16-bit kernels: duration of the split-K reduction kernel (cublasLt "
               "splitKreduce), a graph node of its own that also pays launch_overhead; 0: "
               "split_k_fixed beyond the main kernel instead",
               &GpuConfig::gemm, &GpuConfig::Gemm::split_k_reduce_s);
    s.real("kernels.gemm.imma_narrow_tile_factor", "1", Range{0.1, 2},
           "int8 IMMA kernels: main-loop rate of the 128x64 tile relative to the other tiles",
           &GpuConfig::gemm, &GpuConfig::Gemm::imma_narrow_tile_factor)
        .calibrated(kKernels);
    s.quantity("kernels.gemm.imma_load_latency", Unit::kSeconds, "0 us", Range{0, 1e-4},
               "int8 IMMA kernels (no split-K): loaded latency of one K block's loads; a K block "
               "takes at least this over the kernel's stages",
               &GpuConfig::gemm, &GpuConfig::Gemm::imma_load_latency_s)
        .calibrated(kKernels);
    s.integer("kernels.gemm.unaligned_max_elems", "8", Range{1, 16},
              "widest load, in elements, of the library's kernels for rows not 16-byte aligned "
              "(cuBLAS: align1 and align2 kernels, so 2)",
              &GpuConfig::gemm, &GpuConfig::Gemm::unaligned_max_elems);
    s.real("kernels.gemm.unaligned_elem_per_clk", "0", Range{0, 1e6},
           "per-SM FLOP per clock of the fallback kernel for rows aligned to one element only "
           "(older kernels; 0: unaligned_per_clk)",
           &GpuConfig::gemm, &GpuConfig::Gemm::unaligned_elem_per_clk)
        .calibrated(kKernels);
    s.real("kernels.gemm.unaligned_per_clk", kRequired, Range{1, 1e6},
           "per-SM FLOP per clock of the fallback kernel for rows not 16-byte aligned, at one "
           "element per load; it scales with the elements per load the rows' alignment allows",
           &GpuConfig::gemm, &GpuConfig::Gemm::unaligned_per_clk)
        .calibrated(kKernels);
    s.real("kernels.gemm.unaligned_load_bytes_per_clk", kRequired, Range{0.1, 4096},
           "global-load bytes per SM per clock of the kernels that read rows not 16-byte aligned, "
           "at one element per load (narrow loads: an SM-side limit; it scales with the elements "
           "per load)",
           &GpuConfig::gemm, &GpuConfig::Gemm::unaligned_load_bytes_per_clk)
        .calibrated(kKernels);
    s.integer("kernels.sparse_2_4.tile_n", "128", Range{8, 512},
              "2:4 sparse (cuSPARSELt): weight rows per CTA tile (from its kernel names)",
              &GpuConfig::sparse, &GpuConfig::Sparse::tile_n);
    s.integer("kernels.sparse_2_4.tile_m", "256", Range{8, 512},
              "2:4 sparse: token rows (M) per CTA tile", &GpuConfig::sparse,
              &GpuConfig::Sparse::tile_m);
    s.integer("kernels.sparse_2_4.tile_k", "64", Range{8, 512},
              "2:4 sparse: elements of K per main-loop step", &GpuConfig::sparse,
              &GpuConfig::Sparse::tile_k);
    for (auto [dt, field] : {std::pair{"bf16", &GpuConfig::Sparse::bf16},
                             std::pair{"fp16", &GpuConfig::Sparse::fp16}}) {
      const std::string p = std::string("kernels.sparse_2_4.") + dt, d = dt;
      s.real(p + ".efficiency", kRequired, Range{0.01, 1},
             d + " 2:4 main loop: fraction of the datasheet 2:4 rate, twice the dense peak",
             &GpuConfig::sparse, field, &GpuConfig::Sparse::Format::efficiency)
          .calibrated(kKernels);
      s.quantity(p + ".fixed", Unit::kSeconds, kRequired, Range{0, 1e-2},
                 d + " 2:4: fixed cost of one kernel", &GpuConfig::sparse, field,
                 &GpuConfig::Sparse::Format::fixed_s)
          .calibrated(kKernels);
      s.integer(p + ".cluster", "1", Range{1, 16},
                d + " 2:4: CTAs of a cluster sharing the token tile (the kernel name's cgasize)",
                &GpuConfig::sparse, field, &GpuConfig::Sparse::Format::cluster);
      s.integer(p + ".full_rows", "0", Range{0, 512},
                d + " 2:4: a CTA whose token tile holds fewer rows than this runs the slow main "
                    "loop (0: none does)",
                &GpuConfig::sparse, field, &GpuConfig::Sparse::Format::full_rows);
      s.real(p + ".slow_cycles", "0", Range{0, 1e6},
             d + " 2:4 slow main loop: SM cycles per K step at least", &GpuConfig::sparse, field,
             &GpuConfig::Sparse::Format::slow_cycles)
          .calibrated(kKernels);
      s.real(p + ".slow_bytes_per_clk", "0", Range{0, 1e5},
             d + " 2:4 slow main loop: bytes of weights per clock that the slow CTAs running "
                 "together load, whole chip (0: no limit)",
             &GpuConfig::sparse, field, &GpuConfig::Sparse::Format::slow_bytes_per_clk)
          .calibrated(kKernels);
      s.integer(p + ".split_max_ctas", "0", Range{0, 1e6},
                d + " 2:4: grids of at most this many CTAs may run in two K segments",
                &GpuConfig::sparse, field, &GpuConfig::Sparse::Format::split_max_ctas);
      s.integer(p + ".split_min_k_steps", "0", Range{0, 1e6},
                d + " 2:4: ... when they have more K steps than this", &GpuConfig::sparse, field,
                &GpuConfig::Sparse::Format::split_min_k_steps);
      s.quantity(p + ".split_fixed", Unit::kSeconds, "0 us", Range{0, 1e-2},
                 d + " 2:4: extra fixed cost of the K-segment kernel", &GpuConfig::sparse, field,
                 &GpuConfig::Sparse::Format::split_fixed_s)
          .calibrated(kKernels);
    }
    for (auto [name, field] : {std::pair{"ll", &GpuConfig::Collective::ll},
                               std::pair{"simple", &GpuConfig::Collective::simple}}) {
      const std::string p = std::string("kernels.collective.") + name, n = name;
      s.quantity(p + ".base", Unit::kSeconds, "0 us", Range{0, 1e-3},
                 "NCCL " + n + " protocol: fixed latency of a collective", &GpuConfig::collective,
                 field, &GpuConfig::Collective::Protocol::base_s)
          .calibrated(kNccl);
      s.quantity(p + ".step", Unit::kSeconds, "0 us", Range{0, 1e-3},
                 "NCCL " + n + " protocol: latency per ring step (NCCL's own tuning table)",
                 &GpuConfig::collective, field, &GpuConfig::Collective::Protocol::step_s);
      s.real(p + ".efficiency", "0", Range{0, 1},
             "NCCL " + n +
                 " protocol: fraction of the link bandwidth it reaches (0: the link's "
                 "alpha-beta cost instead)",
             &GpuConfig::collective, field, &GpuConfig::Collective::Protocol::efficiency)
          .calibrated(kNccl);
    }
    s.quantity("kernels.collective.eager_host", Unit::kSeconds, "0 us", Range{0, 1e-2},
               "host time per collective launched eagerly (torch.distributed without a CUDA "
               "graph): a loop of calls runs at the slower of the host and the GPU",
               &GpuConfig::collective, &GpuConfig::Collective::eager_host_s)
        .calibrated(kNccl);
    s.real("kernels.attention.efficiency", kRequired, Range{0.01, 1},
           "flash attention: fraction of the 16-bit tensor peak in the main loop",
           &GpuConfig::attention, &GpuConfig::Attention::efficiency)
        .calibrated(kKernels);
    s.quantity("kernels.attention.prefill_fixed", Unit::kSeconds, kRequired, Range{0, 1e-3},
               "flash attention prefill: fixed latency per kernel", &GpuConfig::attention,
               &GpuConfig::Attention::prefill_fixed_s)
        .calibrated(kKernels);
    s.quantity("kernels.attention.cta_overhead", Unit::kSeconds, kRequired, Range{0, 1e-3},
               "flash attention prefill: SM time per CTA outside the KV loop (Q load, O store)",
               &GpuConfig::attention, &GpuConfig::Attention::cta_overhead_s)
        .calibrated(kKernels);
    s.quantity("kernels.attention.decode_fixed", Unit::kSeconds, kRequired, Range{0, 1e-3},
               "flash decoding: fixed latency of the split-KV kernel and its combine",
               &GpuConfig::attention, &GpuConfig::Attention::decode_fixed_s)
        .calibrated(kKernels);
    s.real("kernels.attention.decode_load_bytes_per_clk", kRequired, Range{0.1, 4096},
           "flash decoding: bytes per clock one SM streams from the KV cache",
           &GpuConfig::attention, &GpuConfig::Attention::decode_load_bytes_per_clk)
        .calibrated(kKernels);
    s.quantity("kernels.attention.combine", Unit::kSeconds, "0 s", Range{0, 5e-6},
               "split-KV decoding: the combine kernel's own duration (flash_fwd_splitkv_combine, "
               "cuDNN's lean_reduction), a graph node that also pays launch_overhead",
               &GpuConfig::attention, &GpuConfig::Attention::combine_s)
        .calibrated(kStacks);
    s.real("kernels.attention.softmax_cycles_per_score", "0", Range{0, 1},
           "flash kernels (FA2, cuDNN, FA3): SM cycles per attention score of the softmax, which "
           "does not shrink with head_dim (the main-loop efficiencies are fitted at head_dim 128 "
           "and include it there); 0: every head_dim at the fitted rate",
           &GpuConfig::attention, &GpuConfig::Attention::softmax_cycles_per_score)
        .calibrated(kStacks);
    for (auto [impl, field, fitted] :
         {std::tuple{"cudnn", &GpuConfig::Attention::cudnn, true},
          std::tuple{"flash3", &GpuConfig::Attention::flash3, false}}) {
      const std::string p = std::string("kernels.attention.") + impl, n = impl;
      const bool is_fitted = fitted;  // a structured binding cannot be captured before C++20's DR
      auto cal = [&](Schema<GpuConfig>& declared) {
        if (is_fitted) declared.calibrated(kStacks);
      };
      cal(s.real(p + ".efficiency", "0", Range{0, 1},
                 n + " fused attention (Hopper wgmma prefill kernel): fraction of the 16-bit "
                     "tensor peak in the main loop (0: the card has no such kernel; FA2 runs)",
                 &GpuConfig::attention, field, &GpuConfig::Attention::Hopper::efficiency));
      cal(s.quantity(p + ".prefill_fixed", Unit::kSeconds, "0 s", Range{0, 1e-3},
                     n + " prefill: fixed latency per kernel (with its memset or scheduler)",
                     &GpuConfig::attention, field, &GpuConfig::Attention::Hopper::prefill_fixed_s));
      cal(s.quantity(p + ".cta_overhead", Unit::kSeconds, "0 s", Range{0, 1e-3},
                     n + " prefill: SM time per CTA outside the KV loop", &GpuConfig::attention,
                     field, &GpuConfig::Attention::Hopper::cta_overhead_s));
      cal(s.quantity(p + ".decode_fixed", Unit::kSeconds, "0 s", Range{0, 1e-3},
                     n + " decode: fixed latency of the decode kernel", &GpuConfig::attention,
                     field, &GpuConfig::Attention::Hopper::decode_fixed_s));
      cal(s.real(p + ".decode_load_bytes_per_clk", "128", Range{0.1, 4096},
                 n + " decode: bytes per clock one SM streams from the KV cache",
                 &GpuConfig::attention, field,
                 &GpuConfig::Attention::Hopper::decode_load_bytes_per_clk));
    }
    for (auto [kind, field, what] :
         {std::tuple{"vectorized", &GpuConfig::Eager::vectorized,
                     "PyTorch eager vectorised pointwise kernel"},
          std::tuple{"strided", &GpuConfig::Eager::strided,
                     "PyTorch eager unvectorised pointwise kernel (broadcast, strided or cast)"},
          std::tuple{"reduce", &GpuConfig::Eager::reduce, "PyTorch eager row reduction"}})
      declare_stack_kernel(s, std::string("kernels.eager.") + kind, what, "1", true,
                           &GpuConfig::eager, field);
    for (auto [kind, field, what, bw] :
         {std::tuple{"norm", &GpuConfig::Compiled::norm, "row-reduction kernel (RMSNorm)", "1"},
          std::tuple{"pointwise", &GpuConfig::Compiled::pointwise,
                     "pointwise kernel (SiLU·mul, RoPE)", "1"},
          std::tuple{"layernorm", &GpuConfig::Compiled::layernorm,
                     "Welford LayerNorm kernel (bw 0: takes kernels.compiled.norm)", "0"},
          std::tuple{"gelu", &GpuConfig::Compiled::gelu,
                     "GELU kernel (bw 0: takes kernels.compiled.pointwise)", "0"}})
      declare_stack_kernel(s, std::string("kernels.compiled.") + kind,
                           std::string("torch.compile's ") + what, bw, false,
                           &GpuConfig::compiled, field);
    // The measured kernels are fitted; `other` stands for the unmeasured ones (embedding,
    // quantize, relu).
    for (const EwKindInfo& e : ew_kinds())
      if (e.calibrated)
        declare_ew(s, std::string(e.name), true, &GpuConfig::Elementwise::kernel, ew_index(e.kind));
    declare_ew(s, "other", false, &GpuConfig::Elementwise::other);
    return s;
  }();
  return s;
}

AreaInputs gpu_area_inputs(const GpuConfig& c) {
  AreaInputs in;
  const AreaConfig::Die& die = c.area.die;
  in.cores = std::max(die.cores, c.sm.count);  // a die holds at least the SMs enabled
  const double sms = double(in.cores);
  const DtypeRates& t = c.sm.tensor;
  DtypeRates& m = in.macs_per_clk;  // a multiply-add is 2 operations
  m.fp32 = t.fp32 / 2 * sms, m.tf32 = t.tf32 / 2 * sms, m.bf16 = t.bf16 / 2 * sms;
  m.fp16 = t.fp16 / 2 * sms, m.fp8 = t.fp8 / 2 * sms, m.int8 = t.int8 / 2 * sms;
  m.int4 = t.int4 / 2 * sms;
  in.vector_lanes = c.sm.fp32_per_clk / 2 * sms;
  in.sram_bytes[size_t(SramKind::kRf)] = double(c.sm.registers) * 4 * sms;
  in.sram_bytes[size_t(SramKind::kL1)] =
      (c.sm.l1_bytes > 0 ? c.sm.l1_bytes : c.sm.shared_mem_bytes) * sms;
  in.sram_bytes[size_t(SramKind::kL2)] =
      std::max(die.shared_sram_bytes, c.l2.size_bytes);
  in.memory_phys = die.memory_phys;
  in.links = die.links;
  return in;
}

void check_gpu_physics(const GpuConfig& c, const CfgNode& tree, ErrorList& errors) {
  check_area(c.area, gpu_area_inputs(c), tree, errors);
  auto at = [&](const std::string& path) {
    const CfgNode* n = tree.find_path(path);
    return n ? n->loc : tree.loc;
  };
  const double l1 = c.sm.l1_bytes_per_clk;
  for (auto [path, rate] : {std::pair{"sm_resources.load_bytes_per_clk", c.sm.load_bytes_per_clk},
                            std::pair{"kernels.attention.decode_load_bytes_per_clk",
                                      c.attention.decode_load_bytes_per_clk},
                            std::pair{"kernels.attention.cudnn.decode_load_bytes_per_clk",
                                      c.attention.cudnn.decode_load_bytes_per_clk},
                            std::pair{"kernels.attention.flash3.decode_load_bytes_per_clk",
                                      c.attention.flash3.decode_load_bytes_per_clk},
                            std::pair{"kernels.gemm.unaligned_load_bytes_per_clk",
                                      c.gemm.unaligned_load_bytes_per_clk}})
    if (rate > l1)
      errors.add(at(path), path,
                 fmt::format("{:g} bytes per clock per SM is more than the SM's L1 load path "
                             "(sm.l1_bytes_per_clk = {:g}); a fit that needs it hides a missing "
                             "mechanism",
                             rate, l1));
  // What stays in L2 between calls cannot exceed it.
  if (c.l2.reuse_whole_bytes > c.l2.size_bytes)
    errors.add(at("l2.reuse_whole"), "l2.reuse_whole",
               fmt::format("{:g} B is more than the L2 holds (l2.size = {:g} B)",
                           c.l2.reuse_whole_bytes, c.l2.size_bytes));
  if (c.l2.reuse_keep_bytes > c.l2.reuse_whole_bytes)
    errors.add(at("l2.reuse_keep"), "l2.reuse_keep",
               fmt::format("{:g} B is more than l2.reuse_whole ({:g} B): a footprint that does not "
                           "stay whole cannot keep more of itself than one that does",
                           c.l2.reuse_keep_bytes, c.l2.reuse_whole_bytes));
}

}  // namespace xpusim
