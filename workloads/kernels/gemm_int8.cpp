// W8A8 GEMM: int8 x int8 products summed exactly in int32 (cache-blocked and multithreaded like
// the fp32 engine), the zero-point correction for asymmetric activations, and dequantisation
// to fp32 with the activation (per-token) and weight (per-channel) scales.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads/kernels/aligned_buffer.h"
#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm.h"
#include "workloads/kernels/microkernel_int8.h"
#include "workloads/kernels/parallel.h"

namespace xpusim::kernels {
namespace {

using numerics::QuantizedInt8;

constexpr std::size_t kPairsPerBlock = 256;  // k-pairs per packed B panel (32 KiB at nr = 32)
constexpr std::size_t kRowsPerBlock = 576;

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

void check_operands(const QuantizedInt8& x, const QuantizedInt8& w) {
  if (x.cols != w.cols)
    throw std::invalid_argument("gemm_int8: X has " + std::to_string(x.cols) +
                                " columns but W has " + std::to_string(w.cols));
  if (w.scheme != numerics::QuantScheme::kSymmetric)
    throw std::invalid_argument("gemm_int8: weights must be quantised symmetrically");
  if (x.cols > kInt8MaxK)
    throw std::invalid_argument("gemm_int8: k = " + std::to_string(x.cols) +
                                " exceeds 65536, beyond which int32 sums could overflow");
  detail::check_size(x.q.size(), x.rows * x.cols, "int8 X");
  detail::check_size(w.q.size(), w.rows * w.cols, "int8 W");
}

}  // namespace

void gemm_int8_accumulate(const QuantizedInt8& x, const QuantizedInt8& w,
                          std::span<std::int32_t> acc, const KernelOptions& opt) {
  check_operands(x, w);
  const std::size_t m = x.rows, n = w.rows, k = x.cols;
  detail::check_size(acc.size(), m * n, "int32 accumulator");
  if (m == 0 || n == 0) return;
  const detail::Int8KernelSet& ks = detail::int8_kernel_set(resolve_isa(opt.isa));
  const unsigned threads = resolve_threads(opt.num_threads);
  const std::size_t mr = ks.mr, nr = ks.nr, kp = ceil_div(k, 2);

  const std::size_t m_panels = ceil_div(m, mr);
  detail::AlignedBuffer<std::int16_t> a_packed(std::max<std::size_t>(1, m_panels * kp * mr * 2));
  detail::parallel_for(m_panels, threads, [&](std::size_t p, unsigned) {
    detail::pack_int8_pairs(x.q.data() + p * mr * k, k, std::min(mr, m - p * mr), k, 0, kp, mr,
                            a_packed.data() + p * kp * mr * 2);
  });

  const std::size_t mc = kRowsPerBlock / mr * mr, m_blocks = ceil_div(m, mc);
  std::size_t nc = ceil_div(ceil_div(n, std::max<std::size_t>(1, 4 * threads / m_blocks)), nr) * nr;
  nc = std::clamp<std::size_t>(nc, nr, 16 * nr);
  const std::size_t n_blocks = ceil_div(n, nc);
  const unsigned workers = detail::parallel_workers(m_blocks * n_blocks, threads);
  std::vector<detail::AlignedBuffer<std::int16_t>> panels;
  std::vector<detail::AlignedBuffer<std::int32_t>> tiles;
  for (unsigned i = 0; i < workers; ++i) {
    panels.emplace_back(kPairsPerBlock * nr * 2);
    tiles.emplace_back(mr * nr);
  }

  if (kp == 0) std::fill(acc.begin(), acc.end(), 0);
  detail::parallel_for(m_blocks * n_blocks, threads, [&](std::size_t task, unsigned worker) {
    std::int16_t* panel = panels[worker].data();
    std::int32_t* tile = tiles[worker].data();
    const std::size_t n0 = (task % n_blocks) * nc, n1 = std::min(n, n0 + nc);
    const std::size_t m0 = (task / n_blocks) * mc, m1 = std::min(m, m0 + mc);
    for (std::size_t p0 = 0; p0 < kp; p0 += kPairsPerBlock) {
      const std::size_t pb = std::min(kPairsPerBlock, kp - p0);
      for (std::size_t j0 = n0; j0 < n1; j0 += nr) {
        const std::size_t cols = std::min(nr, n1 - j0);
        detail::pack_int8_pairs(w.q.data() + j0 * k, k, cols, k, p0, pb, nr, panel);
        for (std::size_t i0 = m0; i0 < m1; i0 += mr) {
          const std::size_t rows = std::min(mr, m1 - i0);
          const std::int16_t* a = a_packed.data() + (i0 / mr) * kp * mr * 2 + p0 * mr * 2;
          std::int32_t* c = acc.data() + i0 * n + j0;
          if (cols == nr) {
            ks.by_rows[rows - 1](pb, a, panel, c, n, p0 > 0);
            continue;
          }
          std::fill(tile, tile + mr * nr, 0);
          for (std::size_t r = 0; p0 > 0 && r < rows; ++r)
            std::memcpy(tile + r * nr, c + r * n, cols * 4);
          ks.by_rows[rows - 1](pb, a, panel, tile, nr, p0 > 0);
          for (std::size_t r = 0; r < rows; ++r) std::memcpy(c + r * n, tile + r * nr, cols * 4);
        }
      }
    }
  });

  if (x.scheme == numerics::QuantScheme::kAsymmetric) {
    // sum_k (qx - zx) qw = sum_k qx qw - zx * sum_k qw; every term is bounded as documented.
    std::vector<std::int64_t> col_sum(n, 0);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t kk = 0; kk < k; ++kk) col_sum[j] += w.q[j * k + kk];
    for (std::size_t i = 0; i < m; ++i) {
      const std::int64_t zx = x.row_zero_point(i);
      for (std::size_t j = 0; j < n; ++j)
        acc[i * n + j] = static_cast<std::int32_t>(acc[i * n + j] - zx * col_sum[j]);
    }
  }
}

void gemm_int8(const QuantizedInt8& x, const QuantizedInt8& w, std::span<float> y,
               const KernelOptions& opt) {
  detail::check_size(y.size(), x.rows * w.rows, "Y");
  std::vector<std::int32_t> acc(x.rows * w.rows);
  gemm_int8_accumulate(x, w, acc, opt);
  const std::size_t n = w.rows;
  for (std::size_t i = 0; i < x.rows; ++i) {
    const float sx = x.row_scale(i);
    for (std::size_t j = 0; j < n; ++j)
      y[i * n + j] = (static_cast<float>(acc[i * n + j]) * sx) * w.row_scale(j);
  }
}

}  // namespace xpusim::kernels
