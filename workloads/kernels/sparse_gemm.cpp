// GEMMs with sparse weights. 2:4: panels of W are decompressed (and rounded to the datapath's
// input format) while packing, then the dense fp32-accumulating engine runs. CSR: X is packed
// as [k][32] column panels and each sparse row of W walks its non-zeros in ascending k with
// one fp32 FMA per product, four (AVX-512) or two (AVX2) rows in lockstep for latency hiding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "workloads/kernels/aligned_buffer.h"
#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm_engine.h"
#include "workloads/kernels/microkernel_f32.h"
#include "workloads/kernels/parallel.h"
#include "workloads/kernels/sparse.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XPUSIM_HAVE_X86 1
#endif

namespace xpusim::kernels {
namespace {

constexpr std::size_t kXBlock = 32;  // rows of X per CSR task block: one [k][32] panel

struct CsrRows {
  const std::size_t* row_ptr;
  const std::uint32_t* col;
  const float* val;  // rounded to the datapath's input format
};

// out[(n - n0) * 32 + i] = sum over row n's non-zeros of val * xt[col * 32 + i], fma in order.
void csr_rows_scalar(const CsrRows& w, const float* xt, std::size_t n0, std::size_t n1,
                     float* out) {
  for (std::size_t n = n0; n < n1; ++n) {
    float acc[kXBlock] = {};
    for (std::size_t i = w.row_ptr[n]; i < w.row_ptr[n + 1]; ++i) {
      const float v = w.val[i];
      const float* x = xt + std::size_t{w.col[i]} * kXBlock;
      for (std::size_t l = 0; l < kXBlock; ++l) acc[l] = std::fma(v, x[l], acc[l]);
    }
    std::copy(acc, acc + kXBlock, out + (n - n0) * kXBlock);
  }
}

#ifdef XPUSIM_HAVE_X86
template <std::size_t R>
__attribute__((target("avx512f,avx512bw,avx2,fma"))) void csr_rows_avx512(
    const CsrRows& w, const float* xt, std::size_t n0, std::size_t n1, float* out) {
  for (std::size_t n = n0; n < n1; n += R) {
    __m512 a0[R], a1[R];
    std::size_t begin[R], len[R], common = SIZE_MAX;
    for (std::size_t r = 0; r < R; ++r) {
      a0[r] = a1[r] = _mm512_setzero_ps();
      begin[r] = n + r < n1 ? w.row_ptr[n + r] : 0;
      len[r] = n + r < n1 ? w.row_ptr[n + r + 1] - begin[r] : 0;
      common = std::min(common, len[r]);
    }
    for (std::size_t i = 0; i < common; ++i) {
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) {
        const std::size_t j = begin[r] + i;
        const __m512 v = _mm512_set1_ps(w.val[j]);
        const float* x = xt + std::size_t{w.col[j]} * kXBlock;
        a0[r] = _mm512_fmadd_ps(v, _mm512_load_ps(x), a0[r]);
        a1[r] = _mm512_fmadd_ps(v, _mm512_load_ps(x + 16), a1[r]);
      }
    }
    for (std::size_t r = 0; r < R && n + r < n1; ++r) {
      for (std::size_t j = begin[r] + common; j < begin[r] + len[r]; ++j) {
        const __m512 v = _mm512_set1_ps(w.val[j]);
        const float* x = xt + std::size_t{w.col[j]} * kXBlock;
        a0[r] = _mm512_fmadd_ps(v, _mm512_load_ps(x), a0[r]);
        a1[r] = _mm512_fmadd_ps(v, _mm512_load_ps(x + 16), a1[r]);
      }
      _mm512_storeu_ps(out + (n + r - n0) * kXBlock, a0[r]);
      _mm512_storeu_ps(out + (n + r - n0) * kXBlock + 16, a1[r]);
    }
  }
}

__attribute__((target("avx2,fma"))) void csr_rows_avx2(const CsrRows& w, const float* xt,
                                                       std::size_t n0, std::size_t n1, float* out) {
  for (std::size_t n = n0; n < n1; ++n) {
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
    for (std::size_t j = w.row_ptr[n]; j < w.row_ptr[n + 1]; ++j) {
      const __m256 v = _mm256_set1_ps(w.val[j]);
      const float* x = xt + std::size_t{w.col[j]} * kXBlock;
      for (int q = 0; q < 4; ++q) a[q] = _mm256_fmadd_ps(v, _mm256_load_ps(x + 8 * q), a[q]);
    }
    for (int q = 0; q < 4; ++q) _mm256_storeu_ps(out + (n - n0) * kXBlock + 8 * q, a[q]);
  }
}
#endif

void csr_rows(Isa isa, const CsrRows& w, const float* xt, std::size_t n0, std::size_t n1,
              float* out) {
#ifdef XPUSIM_HAVE_X86
  if (isa == Isa::kAvx512) return csr_rows_avx512<4>(w, xt, n0, n1, out);
  if (isa == Isa::kAvx2) return csr_rows_avx2(w, xt, n0, n1, out);
#endif
  csr_rows_scalar(w, xt, n0, n1, out);
}

void check_float_datapath(const Datapath& dp, const char* who) {
  if (const std::string err = datapath_error(dp); !err.empty())
    throw std::invalid_argument(std::string(who) + ": datapath " + datapath_name(dp) + ": " + err);
  if (!detail::is_float_input(dp.input))
    throw std::invalid_argument(std::string(who) + ": needs a floating-point datapath, not " +
                                datapath_name(dp));
}

}  // namespace

void gemm_sparse24(const Datapath& dp, std::span<const float> x, const Sparse24Matrix& w,
                   std::span<float> y, std::size_t m, const KernelOptions& opt) {
  check_float_datapath(dp, "gemm_sparse24");
  const std::size_t n = w.rows, k = w.cols;
  if (k % 4 != 0) throw std::invalid_argument("gemm_sparse24: cols not a multiple of 4");
  detail::check_size(w.values.size(), n * k / 2, "2:4 values");
  detail::check_size(w.meta.size(), n * w.meta_bytes_per_row(), "2:4 metadata");
  detail::check_size(x.size(), m * k, "X");
  detail::check_size(y.size(), m * n, "Y");
  const unsigned threads = resolve_threads(opt.num_threads);
  const detail::FloatOperand ox = detail::make_float_operand(dp.input, x);
  const detail::FloatOperand ow = detail::make_float_operand(dp.input, w.values);
  const std::vector<float> xr = detail::round_matrix(x, ox, threads);
  detail::WeightRows rows;
  // kc and k0 are multiples of 4 (block size 256, k % 4 == 0), so groups are never cut.
  rows.fill = [&](std::size_t n0, std::size_t r, std::size_t k0, std::size_t kc, float* dst) {
    for (std::size_t i = 0; i < r; ++i) {
      float* d = dst + i * kc;
      std::fill(d, d + kc, 0.0f);
      for (std::size_t g = k0 / 4; g < (k0 + kc) / 4; ++g) {
        const std::uint8_t byte = w.meta[(n0 + i) * w.meta_bytes_per_row() + g / 2];
        const int nib = (g % 2 ? byte >> 4 : byte) & 0x0F;
        const float* v = w.values.data() + ((n0 + i) * w.groups_per_row() + g) * 2;
        d[4 * g - k0 + (nib & 3)] = v[0];
        d[4 * g - k0 + (nib >> 2)] = v[1];
      }
      detail::round_operand(d, kc, d, ow);
    }
  };
  detail::f32_gemm_engine(xr.data(), m, n, k, rows, y.data(), opt);
  detail::finish_output(y, ox.scale * ow.scale, dp.output, threads);
}

void gemm_csr(const Datapath& dp, std::span<const float> x, const CsrMatrix& w, std::span<float> y,
              std::size_t m, const KernelOptions& opt) {
  check_float_datapath(dp, "gemm_csr");
  const std::size_t n = w.rows, k = w.cols;
  detail::check_size(w.row_ptr.size(), n + 1, "CSR row_ptr");
  detail::check_size(w.col_index.size(), w.values.size(), "CSR col_index");
  if (w.row_ptr.front() != 0 || w.row_ptr.back() != w.values.size() ||
      !std::is_sorted(w.row_ptr.begin(), w.row_ptr.end()) ||
      std::any_of(w.col_index.begin(), w.col_index.end(), [&](std::uint32_t c) { return c >= k; }))
    throw std::invalid_argument("gemm_csr: malformed CSR matrix");
  detail::check_size(x.size(), m * k, "X");
  detail::check_size(y.size(), m * n, "Y");
  if (m == 0 || n == 0) return;
  const Isa isa = resolve_isa(opt.isa);
  const unsigned threads = resolve_threads(opt.num_threads);
  const detail::FloatOperand ox = detail::make_float_operand(dp.input, x);
  const detail::FloatOperand ow = detail::make_float_operand(dp.input, w.values);
  const std::vector<float> xr = detail::round_matrix(x, ox, threads);
  const std::vector<float> wv = detail::round_matrix(w.values, ow, threads);
  const CsrRows rows{w.row_ptr.data(), w.col_index.data(), wv.data()};

  const std::size_t m_blocks = (m + kXBlock - 1) / kXBlock;
  detail::AlignedBuffer<float> xt(std::max<std::size_t>(1, m_blocks * k * kXBlock));
  const detail::PackFn pack = detail::f32_kernel_set(isa).pack_b;
  detail::parallel_for(m_blocks, threads, [&](std::size_t b, unsigned) {
    const std::size_t rows_here = std::min(kXBlock, m - b * kXBlock);
    pack(xr.data() + b * kXBlock * k, k, rows_here, k, kXBlock, xt.data() + b * k * kXBlock);
  });

  constexpr std::size_t kRowsPerTask = 64;
  const std::size_t n_chunks = (n + kRowsPerTask - 1) / kRowsPerTask;
  detail::parallel_for(m_blocks * n_chunks, threads, [&](std::size_t task, unsigned) {
    const std::size_t b = task / n_chunks, n0 = (task % n_chunks) * kRowsPerTask;
    const std::size_t n1 = std::min(n, n0 + kRowsPerTask);
    float out[kRowsPerTask * kXBlock];
    csr_rows(isa, rows, xt.data() + b * k * kXBlock, n0, n1, out);
    const std::size_t rows_here = std::min(kXBlock, m - b * kXBlock);
    for (std::size_t i = 0; i < rows_here; ++i)
      for (std::size_t j = n0; j < n1; ++j)
        y[(b * kXBlock + i) * n + j] = out[(j - n0) * kXBlock + i];
  });
  detail::finish_output(y, ox.scale * ow.scale, dp.output, threads);
}

}  // namespace xpusim::kernels
