// Maps operators onto the TPU's arrays, vector unit and link (see tpu_model.h and systolic.h).
#include "arch/tpu/tpu_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "arch/unit_choice.h"
#include "arch/tpu/window_buffer.h"

namespace xpusim {

std::vector<MemLevelSpec> tpu_levels(const TpuConfig& c) {
  const bool free = c.hbm_mode == "stall_free";
  const double bw = free ? 1e30 : c.hbm.bw_bytes_per_s, lat = free ? 0.0 : c.hbm.latency_s;
  std::vector<MemLevelSpec> levels;
  if (c.hbm_per_operand) {
    for (const char* n : {"hbm.ifmap", "hbm.filter", "hbm.ofmap"})
      levels.push_back({n, c.hbm.size_bytes, bw, lat, 0});
  } else {
    levels.push_back({"hbm", c.hbm.size_bytes, bw, lat, 0});
  }
  levels.push_back({"link", 0, c.link.bw_bytes_per_s, 0, 0});
  return levels;
}

size_t tpu_link_level(const TpuConfig& c) { return c.hbm_per_operand ? 3 : 1; }

namespace {

double arrays(const TpuConfig& c) { return double(c.cores * c.mxu.count); }

// One GEMM shape (batch independent instances) as folds on the arrays: the busiest array's folds
// become the group's tiles; the bytes of all arrays per tile.
struct GemmShape {
  int64_t M = 1, K = 1, N = 1;
  double batch = 1;
  double in_bytes = 0, weight_bytes = 0, out_bytes = 0;  // the op's minimum traffic
  double in_word = 1, weight_word = 1;                   // bytes per element in the SRAMs
};

struct GemmFolds {
  std::vector<TileGroup> groups;     // one group of equal folds, or the window replay's segments
  std::vector<double> off_op_bytes;  // per level
  double compute_cycles = 0, skew_cycles = 0, mapping_eff = 0, folds = 0;
  double read_bytes = 0, write_bytes = 0;  // device memory
};

GemmFolds gemm_folds(const TpuConfig& c, const SystolicArray& a, const GemmShape& g,
                     size_t levels) {
  const FoldPlan p = plan_folds(a, g.M, g.K, g.N);
  // Accumulators for a blocked schedule: the fp32 partial sums the output buffer's active half
  // holds (not with hbm.weights_only, whose activations never leave the chip).
  const double acc = c.sram.accumulate && !c.hbm_weights_only ? c.sram.ofmap_bytes / 2 / 4 : 0.0;
  const OperandTraffic t = dram_traffic(a, g.M, g.K, g.N, c.sram.ifmap_bytes / g.in_word,
                                        c.sram.filter_bytes / g.weight_word, c.sram.reorder, acc);
  GemmFolds f;
  f.folds = double(p.folds) * g.batch;
  const double tiles = std::max(1.0, std::ceil(f.folds / arrays(c)));
  // With preload the stationary operand of the next fold shifts in under the current one's
  // stream: a fold costs the longer of the two, and the skew (R + C - 2) is paid once.
  const bool preload = c.mxu.preload && a.dataflow != Dataflow::kOs;
  const int64_t stationary = a.dataflow == Dataflow::kOs ? 0 : a.rows;
  const int64_t stream = p.fold_cycles - stationary - (a.rows + a.cols - 2);
  const double fold = preload ? double(std::max(stationary, stream)) : double(p.fold_cycles);
  f.skew_cycles = preload ? double(a.rows + a.cols - 2) : 0.0;
  f.compute_cycles = tiles * fold + f.skew_cycles;
  f.mapping_eff = p.mapping_eff;
  const double mk = double(g.M) * double(g.K), kn = double(g.K) * double(g.N),
               mn = double(g.M) * double(g.N);
  const double on_chip = c.hbm_weights_only ? 0.0 : 1.0;
  const double in_b = on_chip * g.in_bytes * t.ifmap_words / mk;
  const double w_b = g.weight_bytes * t.filter_words / kn;
  const double out_b = on_chip * g.out_bytes * (c.sram.accumulate ? 1.0 : t.ofmap_words / mn);
  double in_dma = in_b, w_dma = w_b, out_dma = out_b;
  f.read_bytes = in_b + w_b, f.write_bytes = out_b;
  if (c.hbm_overlap_ops) {
    // Per array: what fills before this op is at most the active half of each input SRAM.
    const double n = std::min(arrays(c), f.folds);
    in_dma = std::max(0.0, in_b - n * std::min(in_b / n, c.sram.ifmap_bytes / 2));
    w_dma = std::max(0.0, w_b - n * std::min(w_b / n, c.sram.filter_bytes / 2));
    // Both output halves may still hold results when the last fold ends: they drain after it.
    out_dma = std::max(0.0, out_b - n * std::min(out_b / n, c.sram.ofmap_bytes));
  }
  TileGroup& group = f.groups.emplace_back();
  group.tiles = tiles;
  group.compute_s = fold / c.clock_hz;
  group.bytes.assign(levels, 0.0);
  f.off_op_bytes.assign(levels, 0.0);
  if (c.hbm_per_operand) {
    group.bytes[0] = in_dma / tiles, group.bytes[1] = w_dma / tiles,
    group.bytes[2] = out_dma / tiles;
    f.off_op_bytes[0] = in_b - in_dma, f.off_op_bytes[1] = w_b - w_dma,
    f.off_op_bytes[2] = out_b - out_dma;
  } else {
    group.bytes[0] = (in_dma + w_dma + out_dma) / tiles;
    f.off_op_bytes[0] = (in_b - in_dma) + (w_b - w_dma) + (out_b - out_dma);
  }
  return f;
}

// Whether `sram.read_buffer: window` replays this GEMM: one array, one instance, one
// multiply-add per PE per cycle, SCALE-Sim's own fold and buffer rules, and a replay of bounded
// length; anything else runs as tiles.
bool window_applies(const TpuConfig& c, const SystolicArray& a, const GemmShape& g) {
  return c.sram.read_buffer == "window" && c.hbm_mode == "bandwidth" && arrays(c) == 1 &&
         g.batch == 1 && a.macs_per_pe == 1 && !c.mxu.preload && !c.sram.accumulate &&
         !c.sram.reorder && !c.hbm_weights_only;
}

// SCALE-Sim's buffers replayed (window_buffer.h): each segment of array cycles becomes one tile
// whose DMA moves the window steps or the drain it needs first; the DMA runs ahead of the array
// (the device raises its stage count) and the engine's stalls are the result. Operand words are
// the op's element sizes; the port's words per cycle come from hbm.bw at the clock.
GemmFolds window_folds(const TpuConfig& c, const SystolicArray& a, const GemmShape& g,
                       size_t levels) {
  const FoldPlan p = plan_folds(a, g.M, g.K, g.N);
  const double out_word = g.out_bytes / (double(g.M) * double(g.N));
  WindowBufferSpec spec;
  spec.ifmap_words = std::max<int64_t>(2, int64_t(c.sram.ifmap_bytes / g.in_word));
  spec.filter_words = std::max<int64_t>(2, int64_t(c.sram.filter_bytes / g.weight_word));
  spec.ofmap_words = std::max<int64_t>(2, int64_t(c.sram.ofmap_bytes / out_word));
  spec.words_per_cycle =
      std::max<int64_t>(1, std::llround(c.hbm.bw_bytes_per_s / c.clock_hz / g.in_word));
  const WindowRun w = run_window_buffers(a, g.M, g.K, g.N, spec);
  const double word[3] = {g.in_word, g.weight_word, out_word};
  GemmFolds f;
  f.folds = double(p.folds);
  f.compute_cycles = double(p.compute_cycles);
  f.mapping_eff = p.mapping_eff;
  f.off_op_bytes.assign(levels, 0.0);
  auto port = [&](int op) { return c.hbm_per_operand ? size_t(op) : size_t(0); };
  auto add = [&](std::vector<double>& bytes, int op, double words) {
    bytes[port(op)] += words * word[op];
  };
  // The first fill of both input halves and the drain after the last row: outside the op
  // (hbm.overlap_ops, SCALE-Sim's accounting) or a tile of their own before and after.
  std::vector<double> first(levels, 0.0), last(levels, 0.0);
  add(first, 0, double(w.first_fill_words[0]));
  add(first, 1, double(w.first_fill_words[1]));
  add(last, 2, double(w.final_drain_words));
  auto tile = [&](double cycles, std::vector<double> bytes) {
    TileGroup t;
    t.tiles = 1, t.compute_s = cycles / c.clock_hz, t.bytes = std::move(bytes);
    f.groups.push_back(std::move(t));
  };
  if (c.hbm_overlap_ops) {
    for (size_t l = 0; l < levels; ++l) f.off_op_bytes[l] = first[l] + last[l];
  } else {
    tile(0, first);
  }
  for (const WindowSegment& s : w.segments) {
    std::vector<double> bytes(levels, 0.0), drain(levels, 0.0);
    for (int op = 0; op < 2; ++op) add(bytes, op, double(s.words[op]));
    add(drain, 2, double(s.drain_words));
    tile(double(s.cycles), std::move(bytes));
    if (s.drain_words > 0) f.groups.back().write_bytes = std::move(drain);
    f.groups.back().wait_writes = s.wait_drains;
  }
  if (!c.hbm_overlap_ops) tile(0, last);
  f.read_bytes = double(w.dram_words[0]) * word[0] + double(w.dram_words[1]) * word[1];
  f.write_bytes = double(w.dram_words[2]) * word[2];
  return f;
}

double vector_rate(const TpuConfig& c) { return c.vpu_per_clk * double(c.cores) * c.clock_hz; }

// An elementwise operator on the vector unit: each of its T rows of H elements fills
// ceil(H / lanes) registers, each register takes the kind's operations per element, and each
// reduction along the row (one for RMSNorm, two for LayerNorm and softmax: mean and variance,
// maximum and sum) folds a register's lanes in log2(lanes) register-wide steps. Other vector
// work (KV appends, gathers, sparse-format GEMMs, dequantisation) is its operation count.
double vector_seconds(const TpuConfig& c, const Op& op) {
  double ops = op.flops + op.dequant_flops;
  if (op.kind == OpKind::kElementwise && op.ew && op.T > 0 && op.H > 0) {
    const EwKindInfo& e = ew_info(*op.ew);
    const double lanes = double(c.vpu_lanes);
    const double regs = std::ceil(double(op.H) / lanes);
    const double reductions = !e.row_reduction ? 0.0 : (*op.ew == EwKind::kRmsnorm ? 1.0 : 2.0);
    ops = double(op.T) * lanes * (regs * e.flops_per_elem + reductions * std::log2(lanes)) +
          op.dequant_flops;
  }
  return ops > 0 ? ops / vector_rate(c) : 0.0;
}

TpuOpPlan plan_matmul(const TpuConfig& c, const Op& op) {
  TpuOpPlan r;
  const double clocks = arrays(c) * c.clock_hz;
  UnitChoice u = matrix_unit(c.mxu.rates, op, clocks, ComputeUnit::kMxu);
  double per_clk =
      u.unit.path == UnitPath::kInt4AsBf16 ? c.mxu.rates.bf16 : c.mxu.rates.per_clk(op.dtype);
  // A format the array lacks but can hold exactly in a wider one it has: the vector unit
  // converts both operands (one operation per element, counted beside the arrays).
  bool upcast = false;
  if (!u.ok && op.dtype == DType::kFp8 && c.mxu.rates.bf16 > 0) {
    u = {true, "", {ComputeUnit::kMxu, UnitPath::kFp8AsBf16}, 0};
    per_clk = c.mxu.rates.bf16, upcast = true;
  } else if (!u.ok && op.dtype == DType::kInt4 && c.mxu.rates.int8 > 0) {
    u = {true, "", {ComputeUnit::kMxu, UnitPath::kInt4AsInt8}, 0};
    per_clk = c.mxu.rates.int8, upcast = true;
  }
  if (!u.ok) return {false, u.reason, {}, {}, 0, 0, 0};
  r.unit = u.unit;
  SystolicArray a{c.mxu.rows, c.mxu.cols, c.dataflow(), 1};
  a.macs_per_pe =
      std::max<int64_t>(1, int64_t(std::floor(per_clk / (2.0 * double(c.mxu.rows * c.mxu.cols)))));
  const size_t levels = tpu_levels(c).size();
  std::vector<GemmFolds> parts;
  double vector_flops = op.dequant_flops;
  if (op.kind == OpKind::kGemm) {
    GemmShape g;
    g.M = op.M, g.N = op.N, g.batch = double(op.gemm_batch);
    // 2:4 structured sparsity on an array that supports it: the two kept weights of every four
    // are packed along K, so the folds see K/2 (SCALE-Sim v3's compressed filter layout).
    const bool sparse = op.wformat == WeightFormat::kSparse24 && c.mxu.rates.sparse_2_4;
    g.K = sparse ? (op.K + 1) / 2 : op.K;
    g.in_bytes = op.in_bytes, g.weight_bytes = op.weight_bytes, g.out_bytes = op.out_bytes;
    g.in_word = dtype_bytes(op.dtype), g.weight_word = dtype_bytes(op.wdtype);
    if (window_applies(c, a, g)) {
      const double demand = window_demand(a, g.M, g.K, g.N);
      if (demand > kWindowMaxDemand)
        return {false,
                fmt::format("{:.3g} array reads are too many to replay SCALE-Sim's buffers (at "
                            "most {:.0e}); set sram.read_buffer: tiles",
                            demand, kWindowMaxDemand),
                {},
                {},
                0,
                0,
                0};
      parts.push_back(window_folds(c, a, g, levels));
    } else {
      parts.push_back(gemm_folds(c, a, g, levels));
    }
    r.macs = double(op.M) * double(g.K) * double(op.N) * g.batch;
    if (upcast) vector_flops += (double(op.M) + double(op.N)) * double(op.K) * g.batch;
    // Layout changes the dataflow needs (mxu.transpose: vector): Xᵀ for os and is, Yᵀ for is.
    if (c.mxu.transpose == "vector" && a.dataflow != Dataflow::kWs) {
      vector_flops += double(op.M) * double(op.K) * g.batch;
      if (a.dataflow == Dataflow::kIs) vector_flops += double(op.M) * double(op.N) * g.batch;
    }
  } else {
    // Attention: per (sequence, head) the score GEMM Q·Kᵀ (q x d x kv) and P·V (q x kv x d); a
    // causal mask skips the blocks above the diagonal (the op's flops over the unmasked ones);
    // the softmax (about 5 operations per score) runs on the vector unit beside the arrays.
    const double q = double(op.q_len), kv = double(op.kv_len), d = double(op.head_dim);
    const double full = 4.0 * double(op.B * op.heads) * q * kv * d;
    const double kept = std::clamp(op.flops / full, 0.0, 1.0);
    const double bytes = op.total_bytes();
    const double w = dtype_bytes(op.dtype);
    for (int i = 0; i < 2; ++i) {
      GemmShape g;
      g.M = op.q_len, g.K = i == 0 ? op.head_dim : op.kv_len,
      g.N = i == 0 ? op.kv_len : op.head_dim;
      g.batch = double(op.B * op.heads) * kept;
      g.in_bytes = bytes / 2, g.in_word = g.weight_word = w;  // flash-style: each tensor once
      GemmFolds f = gemm_folds(c, a, g, levels);
      // Operands come from the op's minimum traffic, spread evenly over the two GEMMs' folds.
      TileGroup& group = f.groups.front();
      std::fill(group.bytes.begin(), group.bytes.end(), 0.0);
      std::fill(f.off_op_bytes.begin(), f.off_op_bytes.end(), 0.0);
      group.bytes[0] = bytes / 2 / group.tiles;
      parts.push_back(f);
    }
    r.macs = op.flops / 2;
    vector_flops += 5.0 * double(op.B * op.heads) * q * kv * kept;
    if (upcast) vector_flops += op.in_bytes / dtype_bytes(op.dtype);
    // A decode step that reads an 8-bit KV cache into arrays taking 16-bit operands: the vector
    // unit expands every cached K and V element first (vpu.kv_dequant_ops per element), beside
    // the arrays; the step runs at the slower of the two. Prefill attends over its fresh keys.
    if (op.q_len < op.kv_len && dtype_bytes(op.kv_dtype) < w && c.vpu_kv_dequant_ops > 0)
      vector_flops +=
          c.vpu_kv_dequant_ops * 2.0 * double(op.B * op.kv_heads) * kv * double(op.head_dim);
  }
  double skew = 0, tiles = 0, eff = 0;
  r.off_op_bytes.assign(levels, 0.0);
  r.peak_macs_per_cycle = arrays(c) * double(a.rows * a.cols * a.macs_per_pe);
  if (op.kind == OpKind::kAttention) {
    r.dram_read_bytes = op.in_bytes + op.weight_bytes, r.dram_write_bytes = op.out_bytes;
  }
  for (auto& p : parts) {
    if (op.kind == OpKind::kGemm)
      r.dram_read_bytes += p.read_bytes, r.dram_write_bytes += p.write_bytes;
    for (size_t l = 0; l < levels; ++l) r.off_op_bytes[l] += p.off_op_bytes[l];
    r.compute_cycles += p.compute_cycles;
    skew += p.skew_cycles;
    for (const auto& g : p.groups) tiles += g.tiles;
    eff += p.mapping_eff * p.folds;
  }
  double folds = 0;
  for (auto& p : parts) folds += p.folds;
  r.mapping_eff = folds > 0 ? eff / folds : 0;
  // Vector-unit work (dequantising weights, the softmax) runs beside the arrays, fold by fold.
  const double v = vector_rate(c);
  for (auto& p : parts) {
    for (auto& g : p.groups) {
      if (vector_flops > 0 && v > 0 && tiles > 0)
        g.compute_s = std::max(g.compute_s, vector_flops / v / tiles);
      r.work.groups.push_back(g);
    }
  }
  r.work.overhead_s = c.op_overhead_s + skew / c.clock_hz;
  return r;
}

}  // namespace

TpuOpPlan plan_tpu_op(const TpuConfig& c, const Op& op) {
  const size_t levels = tpu_levels(c).size();
  if (op.kind == OpKind::kCollective) {
    TpuOpPlan r;
    r.unit = {ComputeUnit::kLink};
    const CollectiveCost cost = collective_cost(c.link, {}, op);
    // On a torus, p chips as a d-dimensional block of p^(1/d) per side run a ring along every
    // dimension at once, each on its own ports: the bytes split d ways, and the latency-bound
    // steps are those of d rings of p^(1/d) members.
    double dims = 1;
    const bool ring_collective = op.collective == "all_reduce" || op.collective == "all_gather";
    if (ring_collective)
      while (dims < double(c.ici_torus_dims) && std::pow(2.0, dims + 1) <= double(op.ranks)) ++dims;
    const double side = std::pow(double(op.ranks), 1.0 / dims);
    const double ring_steps = double(cost.wire.steps);
    const double torus_steps = ring_steps * dims * (side - 1) / std::max(1.0, double(op.ranks - 1));
    TileGroup g;
    g.bytes.assign(levels, 0.0);
    g.bytes[tpu_link_level(c)] = cost.wire.bytes / dims;
    g.efficiency.assign(levels, 1.0);
    g.efficiency[tpu_link_level(c)] = cost.bw_fraction;
    r.work.overhead_s =
        c.op_overhead_s + (ring_steps > 0 ? cost.fixed_s * torus_steps / ring_steps : 0.0);
    r.work.groups.push_back(g);
    return r;
  }
  const bool sparse_format = op.kind == OpKind::kGemm && (op.wformat == WeightFormat::kCsr ||
                                                          op.wformat == WeightFormat::kBitmap);
  if ((op.kind == OpKind::kGemm || op.kind == OpKind::kAttention) && !sparse_format)
    return plan_matmul(c, op);
  // The vector unit: elementwise kernels, gathers, KV appends and sparse-format GEMMs (which
  // have no array path), streaming their operands from HBM once, in fp32.
  TpuOpPlan r;
  r.unit = sparse_format ? UnitUse{ComputeUnit::kVector, UnitPath::kSparseFormat}
                         : UnitUse{ComputeUnit::kVpu};
  std::vector<double> bytes(levels, 0.0);
  bytes[0] = op.total_bytes();
  r.dram_read_bytes = op.in_bytes + op.weight_bytes, r.dram_write_bytes = op.out_bytes;
  r.work = OpWork::single(vector_seconds(c, op), std::move(bytes), c.op_overhead_s);
  return r;
}

}  // namespace xpusim
