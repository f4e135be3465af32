// GEMM kernel model: a cuBLAS-like heuristic picks the CTA tile, split-K or stream-K by
// estimated time; GEMV for skinny M, the unaligned fallback, IMMA int8 rules, and the
// cuSPARSELt 2:4 paths. Times in seconds, sizes in bytes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "arch/gpu/gpu_kernel_util.h"
#include "arch/gpu/gpu_kernels.h"

namespace xpusim {

using namespace gpu_detail;

KernelPlan plan_gemm(const GpuConfig& c, const Op& op) {
  if (op.M < 1 || op.K < 1 || op.N < 1)
    return unsupported(fmt::format("GEMM {}x{}x{} is empty", op.M, op.K, op.N));
  // Unstructured sparse formats (CSR, bitmap) have no tensor-core path: cuSPARSE runs them on the
  // CUDA cores, skipping the pruned products (op.flops already counts only the kept ones).
  const bool sparse_format =
      op.wformat == WeightFormat::kCsr || op.wformat == WeightFormat::kBitmap;
  const bool cuda_core = op.dtype == DType::kFp32 || sparse_format;
  DType rate_dtype = cuda_core ? DType::kFp32 : op.dtype;
  UnitUse unit{cuda_core ? ComputeUnit::kCudaCore : ComputeUnit::kTensorCore,
               sparse_format ? UnitPath::kSparseFormat : UnitPath::kNative};
  // int4 x int4 (W4A4) runs only where the tensor cores multiply int4 (Ampere's mma.sync s4,
  // CUTLASS kernels); Hopper has no int4 tensor path and no library emulates one. Weight-only int4
  // (int4 weights, 16-bit activations: --quant w4a16) is a different operator and runs anywhere.
  const double per_clk = cuda_core ? c.sm.fp32_per_clk : c.sm.tensor.per_clk(rate_dtype);
  if (op.dtype == DType::kInt4 && per_clk == 0)
    return unsupported(
        "the tensor cores have no int4 datapath (int4 x int4 needs an int4 tensor path such as "
        "Ampere's; weight-only int4 is dtype bf16 with wdtype int4, --quant w4a16)");
  const double eff = c.gemm.efficiency.per_clk(rate_dtype);
  if (per_clk == 0)
    return unsupported(fmt::format("the {} has no {} datapath",
                                   cuda_core ? "CUDA core" : "tensor core", dtype_name(op.dtype)));
  if (eff == 0)
    return unsupported(fmt::format(
        "the {} has a {} datapath but the preset names no kernel for it "
        "(kernels.gemm.efficiency.{} is 0)",
        cuda_core ? "CUDA core" : "tensor core", dtype_name(op.dtype), dtype_name(rate_dtype)));
  double rate_sm = per_clk * (cuda_core ? c.clock_hz : c.tensor_clock_hz) * eff;
  const bool sparse = op.sparse_2_4 && c.sm.tensor.sparse_2_4 && !cuda_core;
  const auto& sp = op.dtype == DType::kFp16 ? c.sparse.fp16 : c.sparse.bf16;
  if (sparse) {  // cuSPARSELt's main loop has its own efficiency, against the 2:4 datasheet rate
    rate_sm = per_clk * c.tensor_clock_hz * 2 * sp.efficiency;
    unit = {ComputeUnit::kTensorCore, UnitPath::kSparse24};
  }
  const int64_t S = c.sm.count, g = std::max<int64_t>(1, op.gemm_batch);
  const double A = op.in_bytes, W = op.weight_bytes, C = op.out_bytes;
  const double a_bytes = A / (double(g) * double(op.M) * double(op.K));
  const double w_elem =
      W / (double(g) * double(op.N) * double(op.K));  // per weight, with 2:4 metadata
  // Weight-only quantisation: the CUDA cores expand each weight beside the tensor-core main loop.
  const double dequant_s = op.dequant_flops / (c.sm.fp32_per_clk * c.clock_hz * double(S));

  KernelPlan best;
  best.unit = unit;
  best.launch_s = c.launch_overhead_s;
  // Whole-chip rate of a per-SM load limit (an SM-side limit does not grow with HBM bandwidth).
  const auto sm_side_bw = [&](double bytes_per_clk) {
    return std::min(hbm_bw(c), bytes_per_clk * double(S) * c.clock_hz);
  };
  if (sparse) {
    // cuSPARSELt: one tile shape at every size. Its CTAs run one per SM, weight tiles first, so
    // the CTAs of the last token tile come last. A CTA whose token tile is short runs a slow main
    // loop (measured, not explained: Nsight Compute shows the same grid and DRAM bytes at M = 16
    // as at M = 256, and twice the time); per K step it takes at least slow_cycles plus its share
    // of slow_bytes_per_clk, the weight-load rate of the slow CTAs running together.
    const int64_t tn = ceil_div(op.N, c.sparse.tile_n), tm = ceil_div(op.M, c.sparse.tile_m);
    const int64_t full_steps = ceil_div(op.K, c.sparse.tile_k);
    const bool segment_k = tn * tm * g <= sp.split_max_ctas && full_steps > sp.split_min_k_steps;
    const int64_t s = segment_k ? 2 : 1, steps = ceil_div(full_steps, s);
    const int64_t ctas = tn * tm * g * s;
    const int64_t last_rows = op.M - (tm - 1) * c.sparse.tile_m;
    const int64_t slow_from = last_rows < sp.full_rows ? tn * (tm - 1) * g * s : ctas;
    // Each CTA's weight tile counts as HBM traffic whatever the L2 size (unlike the dense tiles'
    // hbm_in): each token tile re-reads the weights, as the calibration rows' timings suggest.
    const double w_step = double(c.sparse.tile_n * c.sparse.tile_k) * w_elem;  // HBM per step
    const double x_step = double(c.sparse.tile_m * c.sparse.tile_k) * a_bytes /
                          double(std::max<int64_t>(1, sp.cluster));  // token tile, through L2
    const double step_s =
        2.0 * double(c.sparse.tile_n * c.sparse.tile_m * c.sparse.tile_k) / rate_sm;
    const double io_per_cta = (A + C) / double(ctas);
    best.kernel = fmt::format("sparse 2:4 {}x{}{}", c.sparse.tile_n, c.sparse.tile_m,
                              segment_k ? " segment-k" : "");
    best.hbm_bw = hbm_bw(c);
    best.fill_s = sp.fixed_s + (segment_k ? sp.split_fixed_s : 0.0);
    best.tile_m = c.sparse.tile_m;
    best.tile_n = c.sparse.tile_n;
    best.split_k = s;
    best.ctas = ctas;
    best.ctas_per_sm = 1;
    const double dequant = dequant_s * double(S) / double(ctas);
    for (int64_t i = 0; i < ctas;) {
      const int64_t n = std::min(S, ctas - i),
                    slow = std::max<int64_t>(0, i + n - std::max(i, slow_from));
      double cta_step = step_s;
      if (slow > 0)
        cta_step = std::max(cta_step,
                            sp.slow_cycles / c.clock_hz +
                                (sp.slow_bytes_per_clk > 0
                                     ? double(slow) * w_step / (sp.slow_bytes_per_clk * c.clock_hz)
                                     : 0.0));
      WaveGroup w{1,
                  n,
                  double(steps) * cta_step + dequant,
                  double(n) * (double(steps) * w_step + io_per_cta),
                  double(n) * (double(steps) * (w_step + x_step) + io_per_cta),
                  sm_load_bw(c)};
      // Consecutive identical waves form one group.
      if (!best.groups.empty() && best.groups.back().active_sms == w.active_sms &&
          best.groups.back().compute_s == w.compute_s)
        ++best.groups.back().waves;
      else
        best.groups.push_back(w);
      i += n;
    }
    return best;
  }
  // Rows that are not 16-byte aligned rule out TMA and 16-byte vector loads: cuBLAS falls back to
  // a slow kernel (a GEMV handles M <= 4) whose loads are as wide as the rows' alignment allows,
  // so it is bound by load issue in the SMs: its rates scale with the elements per load (one for
  // odd rows of 16-bit data, two for rows 4-byte aligned, ...). CUDA-core SIMT kernels load
  // scalars anyway.
  const double align_bytes = std::min({16.0, lowest_power_of_two(double(op.K) * a_bytes),
                                       lowest_power_of_two(double(op.N) * a_bytes)});
  const bool aligned = align_bytes >= 16;
  // cuBLAS's 16-bit fallback kernels come in one- and two-element alignments (align1, align2):
  // rows aligned to more than two elements but not to 16 bytes run the align2 kernels (kernel
  // names). (Unaligned int8 runs an sm90 kernel of its own, which the model does not know.)
  const double elems_per_load = std::min(a_bytes == 2 ? double(c.gemm.unaligned_max_elems) : 16.0,
                                         std::max(1.0, align_bytes / a_bytes));
  // cuBLAS serves M <= 4 with a GEMV-like kernel, except in tf32, where M > 1 takes the tiled
  // kernels (measured: tf32 GEMMs at M = 2 to 64 take about as long as each other, longer than
  // at M = 1). Any alignment.
  // On Hopper (the library maps token rows to wgmma's N extent, m_tile_step > 0) aligned 16-bit
  // rows take the tiled tensor-core kernels down to M = 1 (nvjet tiles of 64-512 weight rows by
  // 8 token rows; kernel names of the calibration rows); only unaligned rows run the GEMV.
  const bool sixteen_bit = op.dtype == DType::kBf16 || op.dtype == DType::kFp16;
  const bool tiled_small_m = c.gemm.m_tile_step > 0 && aligned && !cuda_core && sixteen_bit;
  const bool gemv = op.M <= (op.dtype == DType::kTf32 ? 1 : 4) && !tiled_small_m;
  const bool fallback = !aligned && !cuda_core && !gemv;
  // 16-bit rows aligned to one element only take older (sm75, mma.m16n8k8) kernels than rows
  // aligned to two or more (sm80, m16n8k16), which the kernel names show; they have their own rate.
  if (fallback)
    rate_sm =
        std::min(rate_sm, (elems_per_load < 2 && a_bytes == 2 && c.gemm.unaligned_elem_per_clk > 0
                               ? c.gemm.unaligned_elem_per_clk
                               : c.gemm.unaligned_per_clk * elems_per_load) *
                              c.clock_hz);
  // Unaligned rows also slow the loads of the skinny kernels beyond M = 2 (measured).
  const bool slow_loads = !aligned && !cuda_core && op.M > 2;
  const double bw =
      slow_loads ? sm_side_bw(c.gemm.unaligned_load_bytes_per_clk * elems_per_load) : hbm_bw(c);
  const double stage_bytes = cuda_core ? 4.0 : std::max(1.0, a_bytes);
  const double cluster = double(std::max<int64_t>(1, c.gemm.cluster));

  // Candidate CTA tiles: wgmma tiles for tensor cores (64..256 a side, plus the M-fitting ones
  // below), and SIMT tiles for CUDA cores; a GEMV serves M <= 4 (M = 1 in tf32). The unaligned
  // fallback (Ampere-style) kernels have no tile under 128 rows except the wmma ones below
  // (measured: constant time from M=8 to M=128), and split K over long K like the others (their
  // kernel names show splitKreduce or a memset), but do not stream K.
  using Tiles = std::vector<std::pair<int64_t, int64_t>>;
  static const Tiles kTensorTiles = {{256, 128}, {128, 256}, {128, 128},
                                     {128, 64},  {64, 128},  {64, 64}};
  static const Tiles kFallbackTiles = {{256, 128}, {128, 256}, {128, 128}, {128, 64}};
  static const Tiles kSimtTiles = {{128, 128}, {64, 128}, {64, 64}};
  static const Tiles kGemvTiles = {{8, 256}};
  // int8 with int32 output, when the library does not split it: torch._int_mm runs an sm80 CUTLASS
  // IMMA kernel and never splits or streams K. Its tile and stage count follow the grid and K as
  // the kernel names of the calibration rows show (validation/gpu/data/gemm_kernels.csv; kernel
  // "AxB" tiles are A weight rows by B token rows). w counts 64x64 tiles, in SMs:
  //   w <= 1: 64x64 (6 stages); w <= 2: 128x64 (3), 64x64 over long K (K > 6144); w <= 8:
  //   128x64, 128x128 (5) over long K; w <= 16: 128x64, 128x256 (3) over long K; beyond: 128x256
  //   over K > 2048, 128x64 below.
  const bool imma = op.dtype == DType::kInt8 && !c.gemm.int8_split_k;
  struct ImmaTile {
    int64_t bm, bn, stages;
  };
  const auto imma_tile = [&]() -> ImmaTile {
    const int64_t w = ceil_div(op.M, 64) * ceil_div(op.N, 64) * g;
    const bool long_k = op.K > 6144;
    if (w <= S) return {64, 64, 6};
    if (w <= 2 * S) return long_k ? ImmaTile{64, 64, 6} : ImmaTile{64, 128, 3};
    if (w <= 8 * S) return long_k ? ImmaTile{128, 128, 5} : ImmaTile{64, 128, 3};
    if (w <= 16 * S) return long_k ? ImmaTile{256, 128, 3} : ImmaTile{64, 128, 3};
    return op.K > 2048 ? ImmaTile{256, 128, 3} : ImmaTile{64, 128, 3};
  };
  const bool imma_kernel = imma && !gemv && !fallback;  // GEMV and fallback have their own
  const ImmaTile it = imma_kernel ? imma_tile() : ImmaTile{0, 0, 0};
  const Tiles imma_tiles = {{it.bm, it.bn}};
  // Hopper's wgmma takes its N extent in steps of 8 up to 256, and the library maps the token
  // rows (M) to it, so a tile's M side need not be a power of two: it may fit M in whole tiles
  // (nvjet kernels such as 128x208 or 256x96). Tiles that cover M in t equal parts join the set:
  // 1-4 parts, and when M needs more than one 256-row tile, up to m_tile_extra_parts more than
  // the fewest (nvjet runs 128x200 tiles at M = 1800). They join the int4 path's set too.
  Tiles tensor_tiles = kTensorTiles;
  if (c.gemm.m_tile_step > 0) {
    const int64_t t_max = std::max<int64_t>(
        4, op.M > 256 ? ceil_div(op.M, 256) + c.gemm.m_tile_extra_parts : int64_t{0});
    for (int64_t t = 1; t <= t_max; ++t) {
      const int64_t bm = ceil_div(ceil_div(op.M, t), c.gemm.m_tile_step) * c.gemm.m_tile_step;
      if (bm < c.gemm.m_tile_min || bm > 256 || bm == 64 || bm == 128 || bm == 256) continue;
      if (std::find(tensor_tiles.begin(), tensor_tiles.end(), std::pair{bm, int64_t{128}}) !=
          tensor_tiles.end())
        continue;  // small M gives the same bm for several t
      for (int64_t bn : {128, 256}) tensor_tiles.push_back({bm, bn});
    }
  }
  // At small M the fallback also has wmma kernels (16x16 and 32x32 tiles in the kernel names;
  // one 16-row tile stands for them): for fp16 at any alignment (sm75 has fp16 wmma), for bf16
  // only on rows aligned to two elements (bf16 wmma needs sm80's kernels, which come in align2).
  Tiles fallback_tiles = kFallbackTiles;
  if (op.M <= 16 && (op.dtype == DType::kFp16 || (op.dtype == DType::kBf16 && elems_per_load >= 2)))
    fallback_tiles.push_back({16, 128});
  const Tiles& tiles_to_try = fallback      ? fallback_tiles
                              : gemv        ? kGemvTiles
                              : imma_kernel ? imma_tiles
                              : cuda_core   ? kSimtTiles
                                            : tensor_tiles;
  static const int64_t kSplits[] = {1, 2, 3, 4, 6, 8, 12, 16};
  // Hopper's small-M kernels: cuBLAS splits K over long K when the weight rows are few (kernel
  // names: nvjet ..._splitK with splitKreduce), whether or not the split pays for itself.
  const bool library_splits = tiled_small_m && op.M <= 16 && c.gemm.small_m_split_min_k > 0 &&
                              op.K >= c.gemm.small_m_split_min_k && op.N <= 32 * S;
  const bool may_split = !imma;
  const int64_t k_block = std::max<int64_t>(8, std::llround(c.gemm.k_block_bytes / stage_bytes));
  // Fixed latency of every candidate: the GEMM prologue/epilogue plus the extra of some formats'
  // tiled kernels (their GEMV kernels have none).
  const double fill_s = c.gemm.fixed_s + (gemv ? 0.0 : c.gemm.extra_fixed_s.per_clk(op.dtype));
  const int64_t k_iters = ceil_div(op.K, k_block);
  double best_t = std::numeric_limits<double>::infinity();
  auto consider = [&](KernelPlan&& p) {
    const double time = plan_time_s(c, p, c.l2.bw_bytes_per_s);
    if (time < best_t) {
      best_t = time;
      best = std::move(p);
    }
  };
  std::string no_fit;  // why the first tile that does not fit an SM does not
  // Not a structured binding: clang before 16 (the fuzz build) cannot capture one in a lambda.
  for (const auto& tile : tiles_to_try) {
    const auto bm = tile.first, bn = tile.second;
    const int64_t tm = ceil_div(op.M, bm), tn = ceil_div(op.N, bn), tiles = tm * tn * g;
    const int64_t consumer_groups =
        bm * bn >= 128 * 128 ? 2 : 1;  // warpgroups holding accumulators
    // wgmma kernels: a producer warpgroup plus the consumers; sm80 IMMA kernels: 4 warps, 8 for
    // the 256x128 tile.
    const int64_t threads =
        imma_kernel ? (bm * bn > 128 * 128 ? 256 : 128) : 128 * (consumer_groups + 1);
    const double smem = double(imma_kernel ? it.stages : c.gemm.stages) * double(bm + bn) *
                        double(k_block) * stage_bytes;
    Occupancy occ = occupancy(c, threads, 168, smem);
    if (occ.ctas_per_sm < 1) {
      if (no_fit.empty())
        no_fit = does_not_fit(c, fmt::format("GEMM {}x{} tile", bm, bn), occ, threads, 168, smem);
      continue;
    }
    const int64_t slots = S * occ.ctas_per_sm;
    // HBM traffic: every operand once while A and W fit in L2 together; otherwise each wave
    // fetches the A row panels and W column panels of its (roughly square) block of tiles.
    auto hbm_in = [&](int64_t ctas, int64_t split) {
      double bytes = A + W;
      if (A + W > c.l2.size_bytes) {
        const int64_t wave_tiles = std::max<int64_t>(1, std::min(slots, ctas) / split);
        const int64_t gm =
            std::min(tm, std::max<int64_t>(1, std::llround(std::sqrt(double(wave_tiles)))));
        const int64_t gn = std::min(tn, ceil_div(wave_tiles, gm));
        const double panels = (double(gm * bm) * a_bytes + double(gn * bn) * w_elem) * double(op.K);
        bytes = std::max(bytes, panels * double(ceil_div(ctas, slots)));
      }
      return bytes;
    };
    // Through L2: each CTA's panels; a cluster multicasts its shared A panel once.
    const double l2_panels =
        double(tiles) * (double(bm) * a_bytes / cluster + double(bn) * w_elem) * double(op.K);
    // The IMMA kernels' 128x64 tile (three stages, four warps of 64x32) keeps its tensor cores
    // less busy than the larger tiles (calibration rows: 13-16 % slower than the others' rate).
    const double tile_rate =
        imma_kernel && bm * bn == 128 * 64 ? rate_sm * c.gemm.imma_narrow_tile_factor : rate_sm;
    auto base_plan = [&](const std::string& kind) {
      KernelPlan p;
      p.unit = unit;
      p.launch_s = c.launch_overhead_s;
      p.fill_s = fill_s;
      p.hbm_bw = bw;
      p.tile_m = bm;
      p.tile_n = bn;
      p.ctas_per_sm = occ.ctas_per_sm;
      p.kernel = fmt::format("gemm {}x{} {}", bm, bn, kind);
      return p;
    };
    for (int64_t s : kSplits) {
      if (s > 1 && (!may_split || tiles >= S || op.K / s < 2 * k_block)) break;
      if (s == 1 && library_splits && tiles < S && op.K / 2 >= 2 * k_block) continue;
      KernelPlan p = base_plan(fmt::format("split-k {}", s));
      p.split_k = s;
      p.ctas = tiles * s;
      // A split K needs its partial sums reduced: a second kernel (cublasLt::splitKreduce_kernel,
      // or a memset before atomic accumulation), as the kernel names show. It is a node of its
      // own in a CUDA graph: a launch gap, then the reduction kernel's own duration
      // (split_k_reduce, for the 16-bit kernels; the profiler times splitKreduce at 1.45-1.8 us for
      // M <= 16 on an H200, validation/gpu/stacks/h200/stack_gemm_calibration.csv). Other formats
      // keep the fitted split_k_fixed beyond the main kernel (a memset, or a reduction the names do
      // not time).
      if (s > 1 && !cuda_core) {
        if (sixteen_bit && c.gemm.split_k_reduce_s > 0) {
          p.launch_s += c.launch_overhead_s;
          p.fill_s += c.gemm.split_k_reduce_s;
        } else {
          p.fill_s += c.gemm.split_k_fixed_s;
        }
      }
      const int64_t k_per = ceil_div(op.K, s);
      const double main_s = 2.0 * double(bm) * double(bn) * double(k_per) / tile_rate;
      // The IMMA kernels keep `stages` K blocks in flight per CTA: a K block takes at least the
      // loaded memory latency over the stages (Little's law; measured: few-CTA int8 GEMMs over
      // long K run at this floor).
      const double floor_s = imma_kernel ? double(ceil_div(k_per, k_block)) *
                                               c.gemm.imma_load_latency_s / double(it.stages)
                                         : 0.0;
      const double cta_s = main_s + dequant_s * double(S) / double(p.ctas);
      double l2 = l2_panels + C;
      if (s > 1)
        l2 +=
            double(g * op.M) * double(op.N) * 4.0 * double(s) * 2.0;  // fp32 partials out and back
      add_uniform_waves(c, p, cta_s, hbm_in(p.ctas, s) + C, l2, sm_load_bw(c), floor_s);
      consider(std::move(p));
    }
    // Stream-K (Hopper cuBLAS): persistent CTAs share the tiles' K iterations evenly, so the last
    // wave is not mostly idle; partial tiles are fixed up through L2.
    if (may_split && !cuda_core && !fallback && tiles > S) {  // the fallback kernels do not stream
      KernelPlan p = base_plan("stream-k");
      p.ctas = slots;
      const double iter_s = 2.0 * double(bm) * double(bn) * double(k_block) / rate_sm;
      const double per_sm = std::ceil(double(tiles * k_iters) / double(S)) * iter_s + dequant_s;
      const double fixup = double(slots) * double(bm * bn) * 4.0 * 2.0;
      p.groups.push_back(
          {1, S, per_sm, hbm_in(tiles, 1) + C, l2_panels + C + fixup, sm_load_bw(c)});
      consider(std::move(p));
    }
  }
  if (best.ctas == 0)
    return unsupported(no_fit.empty() ? std::string("no GEMM tile fits an SM") : no_fit);
  if (fallback) best.kernel += " (unaligned fallback)";
  return best;
}

}  // namespace xpusim
