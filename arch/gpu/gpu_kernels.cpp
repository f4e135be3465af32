// Kernel plans shared by every kernel model (waves, occupancy, plan time), the elementwise and
// collective models, and the dispatch by operator kind. GEMM: gpu_gemm.cpp; attention:
// gpu_attention.cpp. Elementwise kernels are one CTA per row (norms, softmax) or per
// 2048-element chunk.
#include "arch/gpu/gpu_kernels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "arch/gpu/gpu_kernel_util.h"

namespace xpusim {

using namespace gpu_detail;

double KernelPlan::hbm_bytes() const {
  double b = 0;
  for (const auto& g : groups) b += double(g.waves) * g.hbm_bytes;
  return b;
}
double KernelPlan::l2_bytes() const {
  double b = 0;
  for (const auto& g : groups) b += double(g.waves) * g.l2_bytes;
  return b;
}
double KernelPlan::compute_s() const {
  double t = 0;
  for (const auto& g : groups) t += double(g.waves) * g.compute_s;
  return t;
}
int64_t KernelPlan::waves() const {
  int64_t w = 0;
  for (const auto& g : groups) w += g.waves;
  return w;
}

WaveSplit split_waves(int64_t ctas, int64_t slots) {
  XPUSIM_ASSERT(slots > 0, "a wave needs at least one CTA slot");
  return {ctas / slots, ctas % slots};
}

Occupancy occupancy(const GpuConfig& c, int64_t threads, int64_t regs_per_thread,
                    double smem_bytes) {
  const int64_t warps = ceil_div(threads, 32);
  Occupancy o{c.sm.max_ctas, "ctas"};
  auto limit = [&](int64_t n, const char* why) {
    if (n < o.ctas_per_sm) o = {n, why};
  };
  limit(c.sm.max_warps / std::max<int64_t>(1, warps), "warps");
  limit(c.sm.registers / std::max<int64_t>(1, warps * 32 * regs_per_thread), "registers");
  if (smem_bytes > 0) limit(static_cast<int64_t>(c.sm.shared_mem_bytes / smem_bytes), "smem");
  return o;
}

std::string does_not_fit(const GpuConfig& c, const std::string& kernel, const Occupancy& o,
                         int64_t threads, int64_t regs_per_thread, double smem_bytes) {
  std::string need;
  if (o.limiter == "warps")
    need = fmt::format("not enough warp slots (sm_resources.max_warps = {}, it needs {})",
                       c.sm.max_warps, ceil_div(threads, 32));
  else if (o.limiter == "registers")
    need = fmt::format("not enough registers (sm_resources.registers = {}, it needs {})",
                       c.sm.registers, threads * regs_per_thread);
  else if (o.limiter == "smem")
    need = fmt::format("not enough shared memory (sm.shared_mem = {:.0f} B, it needs {:.0f} B)",
                       c.sm.shared_mem_bytes, smem_bytes);
  else
    need = fmt::format("sm_resources.max_ctas = {}", c.sm.max_ctas);
  return fmt::format("the {} CTA ({} threads) does not fit an SM: {}", kernel, threads, need);
}

double plan_time_s(const GpuConfig& c, const KernelPlan& p, double l2_bw) {
  // The engine adds HBM's first-byte latency to a kernel's first loads.
  double t = p.launch_s + p.fill_s + (p.hbm_bytes() > 0 ? c.hbm.latency_s : 0.0);
  if (p.link_bw > 0) t += p.link_bytes / p.link_bw;
  for (const auto& g : p.groups) {
    double wave = g.compute_s;
    if (p.hbm_bw > 0) wave = std::max(wave, g.hbm_bytes / (p.hbm_bw * g.hbm_bw_frac));
    if (l2_bw > 0) wave = std::max(wave, g.l2_bytes / l2_bw);
    if (g.load_bytes_per_s_per_sm > 0 && g.active_sms > 0)
      wave = std::max(wave, g.hbm_bytes / (double(g.active_sms) * g.load_bytes_per_s_per_sm));
    t += double(g.waves) * wave;
  }
  return t;
}

namespace {

// One kernel of a chain that eager PyTorch launches for one op: `ctas` CTAs (one per row for a
// reduction, one per 2048 elements otherwise) of `elems` elements each, moving `bytes`.
struct EagerKernel {
  const EwKernelConfig* k;
  int64_t ctas;
  double elems, bytes;
  // Operands are non-contiguous views (the halves of one tensor): elementwise_kernel computes
  // each operand's offset per element (the config's `issue`); contiguous casts and broadcasts
  // (unrolled kernels) do not.
  bool strided_view = false;
};

// A chain of kernels run back to back as one plan: a launch gap and a fixed latency (with the
// first CTA's) each, then each kernel's waves at its own share of HBM's rate.
KernelPlan chain_plan(const GpuConfig& c, const Op& op, const std::vector<EagerKernel>& ks,
                      const std::string& name) {
  KernelPlan p;
  p.unit = {ComputeUnit::kCudaCore};
  p.kernel = name;
  p.hbm_bw = hbm_bw(c);
  const Occupancy occ = occupancy(c, 128, 32, 0);
  if (occ.ctas_per_sm < 1)
    return unsupported(does_not_fit(c, p.kernel + " kernel", occ, 128, 32, 0));
  p.ctas_per_sm = occ.ctas_per_sm;
  for (const EagerKernel& e : ks) {
    const double cta_s = e.k->cycles_per_elem * e.elems / c.clock_hz;
    p.launch_s += c.launch_overhead_s;
    p.fill_s += e.k->fixed_s + cta_s;
    const int64_t ctas = std::max<int64_t>(1, e.ctas);
    const int64_t waves = ceil_div(ctas, c.sm.count * p.ctas_per_sm);
    p.ctas += ctas;
    double sm_s = double(waves - 1) * cta_s;
    // The kernel's instructions at the whole chip's FP32-pipe issue rate, as in plan_elementwise:
    // PyTorch's unvectorised elementwise_kernel computes every operand's offset per element
    // (integer divisions over the strided dims) and loads 2 bytes at a time; its issue floor
    // follows the clock, and each slot is an integer or load lane-instruction (energy.int_op).
    if (e.strided_view && e.k->issue_per_elem > 0) {
      const double n = double(ctas) * e.elems;
      const double issue_s =
          n * e.k->issue_per_elem / (double(c.sm.count) * c.sm.fp32_per_clk / 2 * c.clock_hz);
      // A grid of less than one CTA per SM is latency-bound (cycles_per_elem): no floor there.
      // The floor is the whole grid's issue time, the first CTA's included, which fill_s
      // already counts.
      if (ctas >= c.sm.count && issue_s - cta_s > sm_s) {
        sm_s = issue_s - cta_s;
        p.sm_time_at_nominal = true;
      }
      p.int_ops += n * e.k->issue_per_elem;
    }
    WaveGroup g{1, std::min(c.sm.count, ctas), sm_s, e.bytes, e.bytes, sm_load_bw(c)};
    g.hbm_bw_frac = e.k->bw;
    p.groups.push_back(g);
  }
  (void)op;
  return p;
}

// What eager PyTorch launches for the op as Hugging Face's model code writes it (kernel names in
// validation/gpu/stacks/h200): RMSNorm as 8 kernels (to fp32, pow, mean, +eps, rsqrt, the
// broadcast multiply, to bf16, the weight multiply), SiLU·mul on the two strided halves of the
// gate_up output as 2 unvectorised kernels, GPT-2's tanh GELU as 8 pointwise kernels. Others (a
// residual add, F.layer_norm, a softmax) are one library kernel, as in the fused stacks.
std::optional<KernelPlan> plan_eager(const GpuConfig& c, const Op& op) {
  if (!op.ew) return std::nullopt;
  const double T = double(std::max<int64_t>(1, op.T)), H = double(std::max<int64_t>(1, op.H));
  const double N = T * H, b = dtype_bytes(op.dtype);
  const EwKernelConfig &vec = c.eager.vectorized, &str = c.eager.strided, &red = c.eager.reduce;
  auto pw = [&](const EwKernelConfig& k, double n, double bytes) {
    return EagerKernel{&k, ceil_div(std::llround(n), 2048), std::min(n, 2048.0), bytes};
  };
  std::vector<EagerKernel> ks;
  switch (*op.ew) {
    case EwKind::kRmsnorm: {
      if (op.ew_residual) ks.push_back(pw(vec, N, 3 * N * b));  // the residual add
      ks.push_back(pw(str, N, N * b + 4 * N));                  // x.to(float32)
      ks.push_back(pw(vec, N, 8 * N));                          // pow(2)
      ks.push_back({&red, op.T, H, 4 * N + 4 * T});             // mean(-1)
      ks.push_back(pw(vec, T, 8 * T));                          // + eps
      ks.push_back(pw(vec, T, 8 * T));                          // rsqrt
      ks.push_back(pw(str, N, 8 * N + 4 * T));                  // x * rstd (broadcast)
      ks.push_back(pw(vec, N, 4 * N + N * b));                  // .to(bf16)
      // w * x: a broadcast of w over the rows (unvectorised) unless there is one row
      ks.push_back(pw(op.T > 1 ? str : vec, N, 2 * N * b + H * b));
      return chain_plan(c, op, ks, "rmsnorm eager (HF, 8 kernels)");
    }
    case EwKind::kSiluMul: {
      // One row's halves are contiguous: both kernels are the vectorised ones then.
      const EwKernelConfig& k = op.T > 1 ? str : vec;
      ks.push_back(pw(k, N, 2 * N * b));  // silu on the (strided) gate half
      ks.push_back(pw(k, N, 3 * N * b));  // * the (strided) up half
      if (op.T > 1) ks[0].strided_view = ks[1].strided_view = true;
      return chain_plan(c, op, ks, "silu_mul eager (2 kernels, strided halves)");
    }
    case EwKind::kRelu:  // a unary op (relu, neg): one vectorised kernel, read and write
      ks.push_back(pw(vec, N, 2 * N * b));
      return chain_plan(c, op, ks, "unary eager (vectorized_elementwise_kernel)");
    case EwKind::kGelu:
      // 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3))): pow, mul, add, mul, tanh, add, mul, mul
      for (int i = 0; i < 8; ++i) ks.push_back(pw(vec, N, (i == 2 || i == 7 ? 3 : 2) * N * b));
      return chain_plan(c, op, ks, "gelu eager (HF gelu_new, 8 kernels)");
    default:
      return std::nullopt;
  }
}

// Appends a whole kernel plan (a GEMM's) to a chain: its launch and fixed costs, and its waves at
// its own share of HBM's rate.
void append_plan(KernelPlan& chain, const KernelPlan& k) {
  chain.launch_s += k.launch_s;
  chain.fill_s += k.fill_s;
  chain.ctas += k.ctas;
  for (WaveGroup g : k.groups) {
    g.hbm_bw_frac *= chain.hbm_bw > 0 ? k.hbm_bw / chain.hbm_bw : 1.0;
    chain.groups.push_back(g);
  }
}

}  // namespace

KernelPlan plan_math_attention(const GpuConfig& c, const Op& op) {
  // What PyTorch 2.11's math SDPA launches for 16-bit inputs (kernel names of the MATH rows in
  // validation/gpu/stacks/h200): q, k and v cast to fp32; q and k each scaled; with a causal
  // mask, the mask built (fill, triu, two fills, where) and added to the scores; the scores from
  // an fp32 GEMM on the CUDA cores (cuBLAS sm80 ffma kernels, GEMV in decode); softmax in fp32;
  // the guard against all-masked rows (isneginf, a row reduction, a fill and a where); the fp32
  // P·V GEMM; the output cast back. With GQA, K and V are first expanded to every query head.
  const double B = double(op.B), h = double(op.heads), kvh = double(op.kv_heads);
  const double q = double(op.q_len), kv = double(op.kv_len), hd = double(op.head_dim);
  const double b = dtype_bytes(op.dtype);
  const double nq = B * h * q * hd, nk = B * kvh * kv * hd, nkh = B * h * kv * hd;
  const double S = B * h * q * kv, QK = q * kv;  // scores, and the mask (one per batch)
  const EwKernelConfig &vec = c.eager.vectorized, &str = c.eager.strided, &red = c.eager.reduce;
  auto pw = [&](const EwKernelConfig& k, double n, double bytes) {
    return EagerKernel{&k, ceil_div(std::llround(n), 2048), std::min(n, 2048.0), bytes};
  };
  std::vector<EagerKernel> pre, mid, post;
  pre.push_back(pw(str, nq, nq * (b + 4)));  // q, k, v to fp32
  pre.push_back(pw(str, nk, nk * (b + 4)));
  pre.push_back(pw(str, nk, nk * (b + 4)));
  const bool gqa = op.heads != op.kv_heads;
  if (gqa) {  // repeat_interleave of K and V to every query head
    pre.push_back(pw(str, nkh, nk * 4 + nkh * 4));
    pre.push_back(pw(str, nkh, nk * 4 + nkh * 4));
  }
  pre.push_back(pw(vec, nq, 8 * nq));    // q * sqrt(scale)
  pre.push_back(pw(vec, nkh, 8 * nkh));  // k * sqrt(scale)
  if (op.causal && op.q_len > 1) {
    pre.push_back(pw(vec, QK, QK));             // ones (bool)
    pre.push_back(pw(str, QK, 2 * QK));         // tril
    pre.push_back(pw(vec, QK, 4 * QK));         // zeros
    pre.push_back(pw(vec, QK, 4 * QK));         // -inf
    pre.push_back(pw(str, QK, 13 * QK));        // where -> float mask
    mid.push_back(pw(str, S, 8 * S + 4 * QK));  // scores + mask
  }
  const EwKernelConfig& softmax = c.ew.of(EwKind::kSoftmax);
  mid.push_back({&softmax, std::llround(B * h * q), kv, 8 * S});
  mid.push_back(pw(vec, S, 5 * S));                                   // isneginf
  mid.push_back({&red, std::llround(B * h * q), kv, S + B * h * q});  // all() over each row
  mid.push_back(pw(vec, S, 4 * S));                                   // zeros
  mid.push_back(pw(str, S, 13 * S));                                  // where(all masked, 0, p)
  // In decode the names show the probabilities cast to 16 bits and back before the GEMV.
  if (op.q_len == 1) mid.push_back(pw(vec, S, 6 * S));
  post.push_back(pw(vec, nq, nq * (4 + b)));  // output to 16 bits
  KernelPlan p = chain_plan(c, op, pre, "pytorch math sdpa (fp32, CUDA cores)");
  if (!p.ok) return p;
  Op qk = make_gemm("math.qk", op.q_len, op.head_dim, op.kv_len, DType::kFp32);
  Op pv = make_gemm("math.pv", op.q_len, op.kv_len, op.head_dim, DType::kFp32);
  for (Op* g : {&qk, &pv}) {
    g->gemm_batch = op.B * op.heads;
    finalize(*g);
  }
  for (const auto& [g, after] : {std::pair{&qk, &mid}, std::pair{&pv, &post}}) {
    const KernelPlan gp = plan_gemm(c, *g);
    if (!gp.ok) return gp;
    append_plan(p, gp);
    const KernelPlan rest = chain_plan(c, op, *after, p.kernel);
    if (!rest.ok) return rest;
    append_plan(p, rest);
  }
  return p;
}

// Inductor's largest persistent (one-pass) row reduction (torch/_inductor/choices.py,
// should_use_persistent_reduction: 1024 for inner reductions).
constexpr int64_t kInductorPersistentMax = 1024;
// The R0_BLOCK of a looped inner reduction (torch/_inductor/runtime/triton_heuristics.py,
// reduction(): the contiguous config takes min(rnumel, 2048) when the hint is INNER).
constexpr int64_t kInductorRBlock = 2048;

// index_select's largest index count for its small-index kernel (Indexing.cu: numIndices <= 16).
constexpr int64_t kIndexSelectSmallIndexMax = 16;

KernelPlan plan_elementwise(const GpuConfig& c, const Op& op) {
  if (op.ew_impl == EwImpl::kEager)
    if (std::optional<KernelPlan> p = plan_eager(c, op)) return *p;
  // torch.compile generates the norms and the activations (and a RoPE); residual adds, copies
  // and gathers stay PyTorch's own kernels.
  const std::optional<EwKind> kind = op.ew;
  const bool compiled_norm =
      op.ew_impl == EwImpl::kCompiled && (kind == EwKind::kRmsnorm || kind == EwKind::kLayernorm);
  const bool compiled_pw =
      op.ew_impl == EwImpl::kCompiled &&
      (kind == EwKind::kSiluMul || kind == EwKind::kGelu || kind == EwKind::kRope);
  const bool compiled = compiled_norm || compiled_pw;
  // LayerNorm (a Welford reduction) and GELU (one contiguous operand) have their own compiled
  // kernels where the preset measured them (bw > 0).
  const EwKernelConfig* kc = compiled_norm ? &c.compiled.norm
                             : compiled_pw ? &c.compiled.pointwise
                                           : &c.ew.of(op.ew);
  if (compiled && kind == EwKind::kLayernorm && c.compiled.layernorm.bw > 0)
    kc = &c.compiled.layernorm;
  if (compiled && kind == EwKind::kGelu && c.compiled.gelu.bw > 0) kc = &c.compiled.gelu;
  const EwKernelConfig& k = *kc;
  // Norms and softmax run one CTA per row (a reduction); pointwise kernels take 2048-element
  // chunks.
  const bool per_row = op.ew && ew_info(*op.ew).row_reduction;
  // KV appends carry no T/H: their element count follows from the bytes written.
  const int64_t T = op.T > 0 ? op.T : 1;
  const int64_t H =
      op.H > 0 ? op.H : std::max<int64_t>(1, std::llround(op.out_bytes / dtype_bytes(op.kv_dtype)));
  const int64_t chunk = 2048;
  KernelPlan p;
  p.unit = {ComputeUnit::kCudaCore};
  p.kernel = fmt::format("{} {}", op.ew ? ew_kind_name(*op.ew) : op_kind_name(op.kind),
                         per_row ? "per-row" : "pointwise");
  p.hbm_bw = hbm_bw(c) * k.bw;
  // A device-to-device cudaMemcpy from memcpy.large_from bytes per call takes the driver's other
  // path, at its own rate (H200: 2.77 TB/s read + write from 512 MiB up, against 4.0-4.2 TB/s up
  // to 448 MiB; four calls of 256 MiB over one 1 GiB pair, or an SM kernel over it, keep 4.2-4.3).
  if (kind == EwKind::kCopy && c.memcpy_d2d.large_from_bytes > 0 && c.memcpy_d2d.large_bw > 0 &&
      double(std::max<int64_t>(1, op.T)) * double(std::max<int64_t>(1, op.H)) *
              dtype_bytes(op.dtype) >=
          c.memcpy_d2d.large_from_bytes)
    p.hbm_bw = hbm_bw(c) * c.memcpy_d2d.large_bw;
  p.launch_s = c.launch_overhead_s;
  const double elems = per_row ? double(H) : double(std::min<int64_t>(chunk, T * H));
  p.ctas = per_row ? T : ceil_div(T * H, chunk);
  const Occupancy occ = occupancy(c, 128, 32, 0);
  if (occ.ctas_per_sm < 1)
    return unsupported(does_not_fit(c, p.kernel + " kernel", occ, 128, 32, 0));
  p.ctas_per_sm = occ.ctas_per_sm;
  // A looped add + norm (compiled) touches each element 5 times (x and the residual read, the
  // sum written, then re-read, the result written) against the plain norm's 3: its rows take
  // that much longer.
  const double touches = compiled && per_row && op.ew_residual ? 5.0 / 3.0 : 1.0;
  // A looped reduction (compiled, H > 1024) walks each row in R0_BLOCK = 2048-element steps
  // (inductor's contiguous reduction config for an inner reduction, XBLOCK = 1), each a
  // dependent load; the last step is masked but takes as long: its CTA time follows the padded
  // row (5120 elements take three steps, as 6144 would).
  const bool looped = compiled && per_row && H > kInductorPersistentMax;
  const double step_elems = looped ? double(ceil_div(H, kInductorRBlock) * kInductorRBlock) : elems;
  const double cta_s = touches * k.cycles_per_elem * step_elems / c.clock_hz;
  // The first CTA's latency (and, in the engine, HBM's first-byte latency) is paid before the
  // stream reaches its steady rate; co-resident CTAs of later waves hide each other's latency.
  p.fill_s = k.fixed_s + cta_s;
  // F.embedding is index_select, which for at most 16 indices runs indexSelectSmallIndex
  // (aten/src/ATen/native/cuda/Indexing.cu): each thread walks the indices in turn, every row's
  // load waiting on its index's, so each index costs a loaded memory latency, one after another
  // (calibration: gpt2 decode at batch 16, 8.2-8.6 us per embedding, e2e_stacks_diag3_kernels.csv;
  // batch 32 and up run the vectorised gather, modelled as a pointwise kernel).
  if (kind == EwKind::kEmbedding && T <= kIndexSelectSmallIndexMax)
    p.fill_s += double(T) * c.hbm.latency_s;
  const int64_t waves = ceil_div(p.ctas, c.sm.count * p.ctas_per_sm);
  double bytes = op.total_bytes();
  // torch.compile's norm is a looped reduction (triton_red_: inductor keeps a reduction
  // persistent only up to 1024 elements per row): a first pass sums the squares, a second re-reads
  // the row (and for add + norm the sum it wrote) to scale it. The re-read hits L2 while the rows
  // in flight (every CTA slot's row) fit in half of it, else it comes from HBM again.
  if (compiled && per_row && H > kInductorPersistentMax) {
    const double row_bytes = double(H) * dtype_bytes(op.dtype);
    const double in_flight = double(c.sm.count * p.ctas_per_sm) * row_bytes;
    if (in_flight > 0.5 * c.l2.size_bytes) bytes += double(T) * row_bytes;
  }
  double sm_s = double(waves - 1) * cta_s;
  // The kernel's instructions, issued at the whole chip's FP32-pipe rate: a throughput floor on
  // the SM time (a tanh GELU's libdevice tanhf on an H200 takes longer to issue than HBM takes to
  // stream its operands); it binds on large grids only (the library's grid of a small op spreads
  // over more SMs than the model's 2048-element chunks, whose latency is cycles_per_elem's).
  // Each slot is one FP32 operation's energy.
  const int64_t active = std::min(c.sm.count, p.ctas);
  if (k.issue_per_elem > 0) {
    const double elems = double(T) * double(H);
    const double issue_s =
        elems * k.issue_per_elem / (double(c.sm.count) * c.sm.fp32_per_clk / 2 * c.clock_hz);
    if (issue_s > sm_s) {
      sm_s = issue_s;
      p.sm_time_at_nominal = true;
    }
    p.executed_flops = elems * k.issue_per_elem;
  }
  p.groups.push_back({1, active, sm_s, bytes, bytes, sm_load_bw(c)});
  return p;
}

KernelPlan plan_collective(const GpuConfig& c, const Op& op) {
  if (!(c.link.bw_bytes_per_s > 0))
    return unsupported("no link between GPUs is configured (link.bw)");
  // NCCL's ring with its protocols (arch/link_config: small messages take LL, with its low
  // latency and low bandwidth; large ones Simple).
  const auto proto = [](const char* name, const GpuConfig::Collective::Protocol& p) {
    return RingProtocol{name, p.base_s, p.step_s, p.efficiency};
  };
  const CollectiveCost cost = collective_cost(
      c.link, {proto("LL", c.collective.ll), proto("Simple", c.collective.simple)}, op);
  KernelPlan p;
  p.unit = {ComputeUnit::kLink};
  p.kernel = fmt::format("nccl {} ring x{}", op.collective, op.ranks);
  p.launch_s = c.launch_overhead_s;
  p.link_bytes = cost.wire.bytes;
  p.ctas = 0;
  if (cost.wire.steps == 0) return p;
  p.fill_s = cost.fixed_s;
  p.link_bw = cost.bw_fraction * c.link.bw_bytes_per_s;
  if (cost.protocol != "alpha-beta") p.kernel += " " + cost.protocol;
  return p;
}

double l2_reuse_hit_fraction(const GpuConfig& c, double reuse_bytes) {
  if (!(reuse_bytes > 0)) return 0.0;
  if (reuse_bytes <= c.l2.reuse_whole_bytes) return 1.0;
  return std::min(1.0, c.l2.reuse_keep_bytes / reuse_bytes);
}

namespace {
KernelPlan plan_of_kind(const GpuConfig& c, const Op& op) {
  switch (op.kind) {
    case OpKind::kGemm:
      return plan_gemm(c, op);
    case OpKind::kAttention:
      return plan_attention(c, op);
    case OpKind::kCollective:
      return plan_collective(c, op);
    default:
      return plan_elementwise(c, op);
  }
}
}  // namespace

KernelPlan plan_kernel(const GpuConfig& c, const Op& op) {
  KernelPlan p = plan_of_kind(c, op);
  // Operands that stay in L2 from one call to the next: that share of the HBM traffic is served
  // by L2 (each group's L2 traffic already counts every byte that HBM sends).
  const double hit = l2_reuse_hit_fraction(c, op.reuse_bytes);
  if (p.ok && hit > 0)
    for (WaveGroup& g : p.groups) g.hbm_bytes *= 1.0 - hit;
  return p;
}

}  // namespace xpusim
