// Blocked fp32 GEMM driver (BLIS-style), fp32 row-major in and out. Accumulation across k
// blocks reloads C into the accumulators, so every output is one sequential FMA chain over k:
// the result does not depend on block sizes, threads or ISA.
#include "workloads/kernels/gemm_engine.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "sim/base/errors.h"
#include "workloads/kernels/aligned_buffer.h"
#include "workloads/kernels/microkernel_f32.h"
#include "workloads/kernels/parallel.h"

namespace xpusim::kernels::detail {
namespace {

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

struct Scratch {
  AlignedBuffer<float> b_panel;  // kGemmKc * nr
  AlignedBuffer<float> w_rows;   // nr * kGemmKc, for WeightRows::fill
  AlignedBuffer<float> c_tile;   // mr * nr, for tiles cut by the right edge of Y
};

}  // namespace

void f32_gemm_engine(const float* x, std::size_t m, std::size_t n, std::size_t k,
                     const WeightRows& w, float* y, const KernelOptions& opt) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(y, y + m * n, 0.0f);
    return;
  }
  XPUSIM_ASSERT(w.dense != nullptr || w.fill, "WeightRows needs dense rows or a fill function");
  const F32KernelSet& ks = f32_kernel_set(resolve_isa(opt.isa));
  const unsigned threads = resolve_threads(opt.num_threads);
  const std::size_t mr = ks.mr, nr = ks.nr;

  // Loop nest: pack all of X into mr-row panels (once, in parallel); tasks = (column block of
  // W) x (row block of X), handed out dynamically; in a task, for each k block: for each
  // nr-column panel of W, pack it, then run the micro-kernel down every mr-row panel of the X
  // block (which stays in L2). X panel p is [k][mr] at a_packed + p * k * mr.
  const std::size_t m_panels = ceil_div(m, mr);
  AlignedBuffer<float> a_packed(m_panels * k * mr);
  parallel_for(m_panels, threads, [&](std::size_t p, unsigned) {
    pack_panel_generic(x + p * mr * k, k, std::min(mr, m - p * mr), k, mr,
                       a_packed.data() + p * k * mr);
  });

  // Row blocks of X of about one core's L2 (576 x 512 floats); column blocks of W small enough
  // that every thread gets several tasks (dynamic balance), large enough to amortise a task's
  // reload of its X block.
  const std::size_t mc = std::max(mr, kGemmMc / mr * mr);
  const std::size_t m_blocks = ceil_div(m, mc);
  const std::size_t want_tasks = std::size_t{4} * threads;
  std::size_t nc = ceil_div(ceil_div(n, std::max<std::size_t>(1, want_tasks / m_blocks)), nr) * nr;
  nc = std::clamp<std::size_t>(nc, nr, 16 * nr);
  const std::size_t n_blocks = ceil_div(n, nc);

  const unsigned workers = parallel_workers(m_blocks * n_blocks, threads);
  std::vector<Scratch> scratch(workers);
  for (auto& s : scratch) {
    s.b_panel = AlignedBuffer<float>(kGemmKc * nr);
    if (!w.dense) s.w_rows = AlignedBuffer<float>(nr * kGemmKc);
    s.c_tile = AlignedBuffer<float>(mr * nr);
  }

  parallel_for(m_blocks * n_blocks, threads, [&](std::size_t task, unsigned worker) {
    Scratch& s = scratch[worker];
    const std::size_t n0 = (task % n_blocks) * nc, n1 = std::min(n, n0 + nc);
    const std::size_t m0 = (task / n_blocks) * mc, m1 = std::min(m, m0 + mc);
    for (std::size_t pc = 0; pc < k; pc += kGemmKc) {
      const std::size_t kc = std::min(kGemmKc, k - pc);
      const bool accumulate = pc > 0;
      for (std::size_t j0 = n0; j0 < n1; j0 += nr) {
        const std::size_t cols = std::min(nr, n1 - j0);
        if (w.dense) {
          ks.pack_b(w.dense + j0 * w.ld + pc, w.ld, cols, kc, nr, s.b_panel.data());
        } else {
          w.fill(j0, cols, pc, kc, s.w_rows.data());
          ks.pack_b(s.w_rows.data(), kc, cols, kc, nr, s.b_panel.data());
        }
        for (std::size_t i0 = m0; i0 < m1; i0 += mr) {
          const std::size_t rows = std::min(mr, m1 - i0);
          const float* a = a_packed.data() + (i0 / mr) * k * mr + pc * mr;
          float* c = y + i0 * n + j0;
          if (cols == nr) {
            ks.by_rows[rows - 1](kc, a, s.b_panel.data(), c, n, accumulate);
            continue;
          }
          float* t = s.c_tile.data();
          std::fill(t, t + mr * nr, 0.0f);
          if (accumulate)
            for (std::size_t r = 0; r < rows; ++r) std::memcpy(t + r * nr, c + r * n, cols * 4);
          ks.by_rows[rows - 1](kc, a, s.b_panel.data(), t, nr, accumulate);
          for (std::size_t r = 0; r < rows; ++r) std::memcpy(c + r * n, t + r * nr, cols * 4);
        }
      }
    }
  });
}

}  // namespace xpusim::kernels::detail
