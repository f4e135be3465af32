// Flash attention 2 kernel model: prefill CTAs per (batch, head, 128-query block) scheduled onto
// the SMs in launch order (causal CTAs differ in length), and split-KV decoding with GQA packing.
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

namespace {

// The head_dim at which the flash kernels' main-loop efficiencies were fitted (every calibration
// row of validation/gpu and of the stack dataset's kernel rows).
constexpr double kFittedHeadDim = 128;

// SM time of a flash kernel's query tile of bq rows over `keys` keys: the tensor work at the fitted
// rate, plus the softmax's per-score work beyond what that rate holds at head_dim 128 (negative for
// larger head dims: fewer scores per FLOP). Scores do not shrink with head_dim; FLOPs do.
double flash_tile_s(const GpuConfig& c, double rate_sm, double bq, double keys, double hd) {
  const double scores = bq * keys;
  return 4.0 * scores * hd / rate_sm +
         c.attention.softmax_cycles_per_score * scores * (1.0 - hd / kFittedHeadDim) / c.clock_hz;
}

// Per-CTA time outside the KV loop (the Q tile's load, the O tile's store): bytes of head_dim.
double flash_cta_overhead_s(double fitted_s, double hd) { return fitted_s * hd / kFittedHeadDim; }

// Flash attention 2's choice of KV splits for decoding (num_splits_heuristic): the fewest splits
// whose wave efficiency is within 85% of the best.
int64_t fa2_num_splits(int64_t blocks, int64_t sms, int64_t kv_blocks, int64_t max_splits) {
  if (double(blocks) >= 0.8 * double(sms)) return 1;
  max_splits = std::min({max_splits, sms, kv_blocks});
  auto eligible = [&](int64_t s) {
    return s == 1 || ceil_div(kv_blocks, s) != ceil_div(kv_blocks, s - 1);
  };
  std::vector<double> eff(max_splits + 1, 0.0);
  double best = 0;
  for (int64_t s = 1; s <= max_splits; ++s) {
    if (!eligible(s)) continue;
    const double waves = double(blocks * s) / double(sms);
    eff[s] = waves / std::ceil(waves);
    best = std::max(best, eff[s]);
  }
  for (int64_t s = 1; s <= max_splits; ++s)
    if (eligible(s) && eff[s] >= 0.85 * best) return s;
  return 1;
}

// Makespan of `ctas` CTAs whose SM times repeat with period cta_s.size() (launch order), on `sms`
// SMs of slots/sms CTA slots: the first `slots` CTAs fill the SMs round-robin, later ones go to the
// least loaded SM. Co-resident CTAs share their SM's throughput, so an SM's time is its CTAs' sum.
double list_schedule(const std::vector<double>& cta_s, int64_t ctas, int64_t sms, int64_t slots) {
  std::vector<double> load(sms, 0.0);
  // Later CTAs go to the least-loaded SM: a min-heap of (load, sm).
  std::vector<std::pair<double, int64_t>> heap;
  const int64_t period = static_cast<int64_t>(cta_s.size());
  for (int64_t j = 0; j < ctas; ++j) {
    const double t = cta_s[j % period];
    if (j < slots) {
      load[j % sms] += t;
      if (j + 1 == std::min(ctas, slots)) {
        for (int64_t k = 0; k < sms; ++k) heap.emplace_back(load[k], k);
        std::make_heap(heap.begin(), heap.end(), std::greater<>());
      }
      continue;
    }
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    auto& top = heap.back();
    top.first += t;
    load[top.second] = top.first;
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  }
  return *std::max_element(load.begin(), load.end());
}

// What every split-KV decode kernel adds: its fixed latency, the combine kernel (its launch gap and
// its own duration) when the keys are split, and the fp32 partial outputs and their max/sum that
// the combine reads back. Returns the kernel's HBM bytes.
double split_kv_decode(const GpuConfig& c, const Op& op, int64_t splits, KernelPlan& p,
                       double fixed_s) {
  p.fill_s = fixed_s;
  double hbm = op.in_bytes + op.out_bytes;
  if (splits > 1) {
    // The combine kernel is a graph node of its own: a launch gap and its own duration.
    p.launch_s += c.launch_overhead_s;
    p.fill_s += c.attention.combine_s;
    hbm += 2.0 * double(op.B * op.heads * splits * op.head_dim) * 4.0;
  }
  return hbm;
}

// A decode kernel's choices: its query tile (bq rows, padded), KV block, KV splits, main-loop
// rate per SM, fixed latency and per-SM load rate.
struct DecodeKernel {
  std::string name;
  int64_t bq, bk, splits;
  double rate_sm, fixed_s, load_bytes_per_clk;
};

// Each CTA runs its bq-row tile over its share of the keys (in blocks of bk); an SM runs its CTAs
// (at most ceil(ctas / SMs)) sharing its tensor throughput. The first block of keys is part of
// the kernel's fixed latency (decode_fixed), as in the elementwise model.
KernelPlan plan_decode(const GpuConfig& c, const Op& op, const DecodeKernel& k, KernelPlan p) {
  const int64_t S = c.sm.count, hd = op.head_dim;
  const double b = dtype_bytes(op.dtype);
  const int64_t group = std::max<int64_t>(1, op.heads / std::max<int64_t>(1, op.kv_heads));
  const int64_t rows = op.q_len * group;
  const int64_t blocks = op.B * op.kv_heads * ceil_div(rows, k.bq);
  p.kernel = k.name;
  p.tile_m = k.bq;
  p.tile_n = k.bk;
  p.split_k = k.splits;
  p.ctas = blocks * k.splits;
  const double smem = double(k.bq + 2 * k.bk) * double(hd) * b;
  const Occupancy occ = occupancy(c, 128, 255, smem);
  if (occ.ctas_per_sm < 1) return unsupported(does_not_fit(c, p.kernel, occ, 128, 255, smem));
  p.ctas_per_sm = occ.ctas_per_sm;
  const double hbm = split_kv_decode(c, op, k.splits, p, k.fixed_s);
  const int64_t keys = ceil_div(ceil_div(op.kv_len, k.splits), k.bk) * k.bk;
  const double block_s = flash_tile_s(c, k.rate_sm, double(k.bq), double(k.bk), double(hd));
  const double cta_s = block_s * double(keys / k.bk);
  const int64_t per_sm = std::min(p.ctas_per_sm, ceil_div(p.ctas, S));
  const double load = double(per_sm) * k.load_bytes_per_clk * c.clock_hz;
  const int64_t slots = S * p.ctas_per_sm;
  const int64_t waves = ceil_div(p.ctas, slots);
  p.executed_flops =
      std::max(op.flops, double(p.ctas) * 4.0 * double(k.bq) * double(keys) * double(hd));
  const double sm_s = std::max(double(ceil_div(p.ctas, S)) * cta_s - block_s,
                               op.flops / (k.rate_sm * double(std::min(S, p.ctas))));
  p.groups.push_back({waves, std::min(S, p.ctas), sm_s / double(waves), hbm / double(waves),
                      hbm / double(waves), load});
  return p;
}

// A flash prefill kernel's choices: its tiles (bq queries x bk keys), main-loop rate per SM, fixed
// latency and per-CTA cost outside the KV loop, its CTA's threads and registers, the K/V tiles
// it keeps in shared memory (beside Q), and how its CTAs are scheduled.
struct PrefillKernel {
  std::string name;
  int64_t bq, bk;
  double rate_sm, fixed_s, cta_overhead_s;
  int64_t threads, regs_per_thread, kv_tiles;
  bool longest_first;  // a persistent scheduler that hands out the longest (causal) tiles first
  bool memset;         // a memset node before the kernel (cuDNN)
};

// One CTA per (sequence, head, query block), launched query block fastest; causal CTAs stop at
// the diagonal, so their lengths differ. The block scheduler fills every SM's slots in launch
// order, then hands each further CTA to the SM that frees up first (or, longest_first, takes the
// CTAs longest first); the kernel ends when the most loaded SM does.
KernelPlan plan_prefill(const GpuConfig& c, const Op& op, const PrefillKernel& k, KernelPlan p) {
  const int64_t S = c.sm.count, hd = op.head_dim;
  const double b = dtype_bytes(op.dtype);
  const int64_t bq = k.bq, bk = k.bk;
  const int64_t nq = ceil_div(op.q_len, bq);
  std::vector<double> cta_s(nq);
  double l2_per_bh = 0;
  for (int64_t i = 0; i < nq; ++i) {
    int64_t visible =
        op.causal ? std::min(op.kv_len, op.kv_len - op.q_len + (i + 1) * bq) : op.kv_len;
    visible = ceil_div(std::max<int64_t>(visible, 1), bk) * bk;
    cta_s[i] = flash_tile_s(c, k.rate_sm, double(bq), double(visible), double(hd)) +
               flash_cta_overhead_s(k.cta_overhead_s, double(hd));
    l2_per_bh += (double(bq) + 2.0 * double(visible)) * double(hd) * b;
  }
  if (k.longest_first) std::sort(cta_s.begin(), cta_s.end(), std::greater<>());
  p.kernel = fmt::format("{} prefill {}x{}", k.name, bq, bk);
  p.tile_m = bq;
  p.tile_n = bk;
  p.ctas = op.B * op.heads * nq;
  const double smem = double(bq + k.kv_tiles * bk) * double(hd) * b;
  const Occupancy occ = occupancy(c, k.threads, k.regs_per_thread, smem);
  if (occ.ctas_per_sm < 1)
    return unsupported(does_not_fit(c, p.kernel, occ, k.threads, k.regs_per_thread, smem));
  p.ctas_per_sm = occ.ctas_per_sm;
  // The CTAs are list-scheduled one by one; beyond this the launch describes no real workload.
  constexpr int64_t kMaxScheduledCtas = 20'000'000;
  if (p.ctas > kMaxScheduledCtas)
    return unsupported(
        fmt::format("{} CTAs is too many to schedule (limit {})", p.ctas, kMaxScheduledCtas));
  p.fill_s = k.fixed_s;
  if (k.memset) p.launch_s += c.launch_overhead_s;
  const int64_t slots = S * p.ctas_per_sm;
  const double sm_time = list_schedule(cta_s, p.ctas, S, slots);
  const int64_t nw = std::max<int64_t>(1, ceil_div(p.ctas, slots));
  const double hbm = op.in_bytes + op.out_bytes;
  const double l2 = double(op.B * op.heads) * l2_per_bh + op.out_bytes;
  p.groups.push_back({nw, std::min(S, p.ctas), sm_time / double(nw), hbm / double(nw),
                      l2 / double(nw), sm_load_bw(c)});
  return p;
}

// The Hopper fused-attention kernels (AttnImpl::kCudnn, kFlash3).
//  - cuDNN (PyTorch's default SDPA on sm90; kernel names in validation/gpu/stacks/h200): prefill
//    runs cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x128 after a
//    memset: wgmma tiles of kHopperBq queries x 128 keys, one CTA per (sequence, head, query
//    block), launched query block fastest like FA2's. Decode runs an sm80 kernel
//    (..._sm80_flash_fprop_wmma_f16_knob_35_16x128x128): mma.sync (FA2's rate) on 16-query tiles,
//    the GQA group's queries in one tile, so the padding that bounds FA2's 64/128-row decode tiles
//    is gone and K and V stream at the kernel's load rate; when the (sequence, KV head) tiles
//    leave SMs idle and the keys are long it splits them (a cudnn::fusion::lean_reduction_kernel
//    combines the parts).
//  - FlashAttention-3 (Shah et al. 2024; flash-attention hopper/: tile_size_fwd_sm90 gives
//    128 x 128 tiles for head_dim 128 causal, 176 keys otherwise; a persistent scheduler that
//    hands out the longest causal tiles first; decode packs the GQA group into one 64-row wgmma
//    tile and splits KV with FA2's num_splits_heuristic over the SMs, 1 CTA each). Not measured
//    here (no FA3 build on the device machine): its efficiency is the paper's.
constexpr int64_t kHopperBq = 128;
// cuDNN split the keys (lean reduction) when the tiles did not fill the SMs at kv_len 1025 (the
// e2e decode rows at ctx 1024), 2048 and 8192, never at 512 (kernel names of calibration rows in
// validation/gpu/stacks/h200).
constexpr int64_t kCudnnSplitMinKv = 512;

KernelPlan plan_hopper(const GpuConfig& c, const Op& op, bool cudnn, double mma_rate_sm,
                       KernelPlan p) {
  const GpuConfig::Attention::Hopper& h = cudnn ? c.attention.cudnn : c.attention.flash3;
  double per_clk = c.sm.tensor.per_clk(op.dtype);
  if (per_clk == 0) per_clk = c.sm.tensor.bf16;
  const double rate_sm = per_clk * c.tensor_clock_hz * h.efficiency;
  const int64_t S = c.sm.count;
  const int64_t group = std::max<int64_t>(1, op.heads / std::max<int64_t>(1, op.kv_heads));
  if (op.q_len == 1) {
    if (cudnn) {
      const int64_t tiles = op.B * op.kv_heads * ceil_div(group, 16);
      int64_t splits = 1;
      if (tiles < S && op.kv_len > kCudnnSplitMinKv)
        splits = std::clamp<int64_t>(S / tiles, 1, ceil_div(op.kv_len, 128));
      const DecodeKernel k{splits > 1 ? fmt::format("cudnn decode 16x128 split-kv {}", splits)
                                      : std::string("cudnn decode 16x128"),
                           16,
                           128,
                           splits,
                           mma_rate_sm,
                           h.decode_fixed_s,
                           h.decode_load_bytes_per_clk};
      return plan_decode(c, op, k, std::move(p));
    }
    const int64_t blocks = op.B * op.kv_heads * ceil_div(group, 64);
    const int64_t splits = fa2_num_splits(blocks, S, ceil_div(op.kv_len, 128), 128);
    const DecodeKernel k{fmt::format("flash3 decode 64x128 split-kv {}", splits),
                         64,
                         128,
                         splits,
                         rate_sm,
                         h.decode_fixed_s,
                         h.decode_load_bytes_per_clk};
    return plan_decode(c, op, k, std::move(p));
  }
  const PrefillKernel k{cudnn ? "cudnn" : "flash3",
                        kHopperBq,
                        cudnn ? 128 : (op.causal ? 128 : 176),
                        rate_sm,
                        h.prefill_fixed_s,
                        h.cta_overhead_s,
                        // Q, and K and V in two pipeline stages, in shared memory; two consumer
                        // warpgroups.
                        384,
                        168,
                        4,
                        !cudnn,  // FA3's scheduler hands out the longest tiles first
                        cudnn};  // cuDNN's memset before it
  return plan_prefill(c, op, k, std::move(p));
}

}  // namespace

KernelPlan plan_attention(const GpuConfig& c, const Op& op) {
  if (op.attn_impl == AttnImpl::kMath) return plan_math_attention(c, op);
  double per_clk = c.sm.tensor.per_clk(op.dtype);
  if (per_clk == 0) per_clk = c.sm.tensor.bf16;
  if (per_clk == 0) return unsupported("the tensor cores have no 16-bit datapath for attention");
  // Flash attention kernels exist for 16-bit (and fp8) inputs and head sizes up to 256, whose
  // tiles fit shared memory; other formats go through unfused attention (--attention unfused).
  if (op.head_dim > 256)
    return unsupported(
        fmt::format("flash attention supports head_dim <= 256, not {}", op.head_dim));
  if (dtype_bytes(op.dtype) > 2 || op.dtype == DType::kInt8 || op.dtype == DType::kInt4)
    return unsupported(fmt::format("flash attention has no {} kernel; use --attention unfused",
                                   dtype_name(op.dtype)));
  const double rate_sm = per_clk * c.tensor_clock_hz * c.attention.efficiency;
  const int64_t S = c.sm.count, hd = op.head_dim;
  const int64_t group = std::max<int64_t>(1, op.heads / std::max<int64_t>(1, op.kv_heads));
  KernelPlan p;
  p.unit = {ComputeUnit::kTensorCore};
  p.hbm_bw = hbm_bw(c);
  p.launch_s = c.launch_overhead_s;

  if (op.q_len == 1 && dtype_bytes(op.kv_dtype) < 2) {
    // Decoding over an 8-bit KV cache: serving stacks run FlashInfer's decode kernel for it (vLLM
    // routes an fp8 KV cache to FlashInfer, vllm-project/vllm#7798), not FlashAttention-2, whose
    // tensor-core tiles take 16-bit K and V. FlashInfer's decode kernel works on the CUDA cores: a
    // CTA per (sequence, KV head, KV chunk), its warps holding the GQA group's queries, each 8-bit
    // key and value converted once and used by every query of the group. No padded query tile:
    // the work is the real FLOPs plus one conversion per element, and the KV stream at one byte
    // per element is what bounds it, so an 8-bit cache halves the time of a memory-bound step.
    // KV chunks are split so that the grid fills the SMs twice (FlashInfer's split-KV heuristic
    // aims at that occupancy); a combine kernel merges the chunks.
    const double per_sm = c.sm.fp32_per_clk * c.clock_hz;
    const int64_t heads_kv = op.B * op.kv_heads;
    const int64_t splits =
        std::clamp<int64_t>(ceil_div(2 * S, heads_kv), 1, ceil_div(op.kv_len, 64));
    p.kernel = fmt::format("flashinfer decode, 8-bit KV, CUDA cores, split-kv {}", splits);
    p.unit = {ComputeUnit::kCudaCore};
    p.split_k = splits;
    p.ctas = heads_kv * splits;
    const Occupancy occ = occupancy(c, 128, 64, 0);
    if (occ.ctas_per_sm < 1) return unsupported(does_not_fit(c, p.kernel, occ, 128, 64, 0));
    p.ctas_per_sm = occ.ctas_per_sm;
    const double hbm = split_kv_decode(c, op, splits, p, c.attention.decode_fixed_s);
    const double kv_elems = 2.0 * double(heads_kv) * double(op.kv_len) * double(hd);
    const int64_t active = std::min(S, p.ctas);
    const double sm_s = (op.flops + kv_elems) / (per_sm * double(active));
    const double load = double(std::min(p.ctas_per_sm, ceil_div(p.ctas, S))) *
                        c.attention.decode_load_bytes_per_clk * c.clock_hz;
    const int64_t waves = ceil_div(p.ctas, S * p.ctas_per_sm);
    p.groups.push_back(
        {waves, active, sm_s / double(waves), hbm / double(waves), hbm / double(waves), load});
    return p;
  }

  const bool cudnn = op.attn_impl == AttnImpl::kCudnn && c.attention.cudnn.efficiency > 0;
  const bool fa3 = op.attn_impl == AttnImpl::kFlash3 && c.attention.flash3.efficiency > 0;
  if (cudnn || fa3) return plan_hopper(c, op, cudnn, rate_sm, std::move(p));

  if (op.q_len == 1) {
    // Decoding; with GQA the queries of one group share a CTA, so K and V are read once. FA2 picks
    // the KV splits for 2 CTAs of 128 threads per SM (num_splits_heuristic(..., 2 * SMs, ...)).
    // Without a split it runs its standard forward kernel (128-query x 64-key tiles for head_dim
    // 128), with one: the split-KV kernel (64 x 128). Either computes its whole query tile, so the
    // tensor work of one CTA is that of bq padded queries, not of the group's few: this SM-side
    // limit (at flash attention's mma rate) is what bounds the unsplit kernel, not HBM.
    // Head dims up to 64 take 256-key split blocks and 128 x 128 forward tiles (FA2's
    // Flash_fwd_kernel_traits<64, 64, 256, 4> and <64, 128, 128, 4>, kernel names of the gpt2
    // rows in validation/gpu/stacks/h200).
    const bool small_hd = op.head_dim <= 64;
    const int64_t bk_split = small_hd ? 256 : 128, bk_fwd = small_hd ? 128 : 64;
    const int64_t rows = op.q_len * group;
    const int64_t blocks64 = op.B * op.kv_heads * ceil_div(rows, 64);
    const int64_t splits = fa2_num_splits(blocks64, 2 * S, ceil_div(op.kv_len, bk_split), 128);
    const DecodeKernel k{splits > 1 ? fmt::format("flash decode split-kv {}", splits)
                                    : std::string("flash decode (forward kernel)"),
                         splits > 1 ? 64 : 128,
                         splits > 1 ? bk_split : bk_fwd,
                         splits,
                         rate_sm,
                         c.attention.decode_fixed_s,
                         c.attention.decode_load_bytes_per_clk};
    return plan_decode(c, op, k, std::move(p));
  }

  // Prefill: one CTA per (batch, head, 128-query block), launched q-block fastest; KV blocks of 64
  // keys (128 for head dims up to 64, as in decode); K and V single-buffered in shared memory.
  const PrefillKernel k{"flash attention",
                        128,
                        op.head_dim <= 64 ? 128 : 64,
                        rate_sm,
                        c.attention.prefill_fixed_s,
                        c.attention.cta_overhead_s,
                        128,
                        255,
                        2,
                        false,
                        false};
  return plan_prefill(c, op, k, std::move(p));
}

}  // namespace xpusim
