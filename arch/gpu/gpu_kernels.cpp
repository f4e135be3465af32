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
    if (p.hbm_bw > 0) wave = std::max(wave, g.hbm_bytes / p.hbm_bw);
    if (l2_bw > 0) wave = std::max(wave, g.l2_bytes / l2_bw);
    if (g.load_bytes_per_s_per_sm > 0 && g.active_sms > 0)
      wave = std::max(wave, g.hbm_bytes / (double(g.active_sms) * g.load_bytes_per_s_per_sm));
    t += double(g.waves) * wave;
  }
  return t;
}

KernelPlan plan_elementwise(const GpuConfig& c, const Op& op) {
  const EwKernelConfig& k = c.ew.of(op.ew);
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
  p.launch_s = c.launch_overhead_s;
  const double elems = per_row ? double(H) : double(std::min<int64_t>(chunk, T * H));
  p.ctas = per_row ? T : ceil_div(T * H, chunk);
  const Occupancy occ = occupancy(c, 128, 32, 0);
  if (occ.ctas_per_sm < 1)
    return unsupported(does_not_fit(c, p.kernel + " kernel", occ, 128, 32, 0));
  p.ctas_per_sm = occ.ctas_per_sm;
  const double cta_s = k.cycles_per_elem * elems / c.clock_hz;
  // The first CTA's latency (and, in the engine, HBM's first-byte latency) is paid before the
  // stream reaches its steady rate; co-resident CTAs of later waves hide each other's latency.
  p.fill_s = k.fixed_s + cta_s;
  const int64_t waves = ceil_div(p.ctas, c.sm.count * p.ctas_per_sm);
  const double bytes = op.total_bytes();
  p.groups.push_back(
      {1, std::min(c.sm.count, p.ctas), double(waves - 1) * cta_s, bytes, bytes, sm_load_bw(c)});
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

KernelPlan plan_kernel(const GpuConfig& c, const Op& op) {
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

}  // namespace xpusim
