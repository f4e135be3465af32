// AVX2+FMA fp32 micro-kernel: a 6 x 16 tile held in 12 ymm accumulators (the classic Haswell
// shape: 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers).
#include <array>

#include "workloads/kernels/microkernel_f32.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XPUSIM_HAVE_X86 1
#endif

namespace xpusim::kernels::detail {

#ifdef XPUSIM_HAVE_X86
namespace {

constexpr std::size_t kMr = 6;
constexpr std::size_t kNr = 16;

template <std::size_t R>
__attribute__((target("avx2,fma"))) void kernel_avx2(std::size_t kc, const float* a, const float* b,
                                                     float* c, std::size_t ldc, bool accumulate) {
  __m256 c0[R], c1[R];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < R; ++r) {
    c0[r] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    c1[r] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
  for (std::size_t k = 0; k < kc; ++k, a += kMr, b += kNr) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, c0[r]);
    _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
  }
}

constexpr std::array<F32MicroKernel, kMr> kByRows = {
    kernel_avx2<1>, kernel_avx2<2>, kernel_avx2<3>, kernel_avx2<4>, kernel_avx2<5>, kernel_avx2<6>};

}  // namespace

const F32KernelSet& f32_kernels_avx2() {
  static const F32KernelSet set{Isa::kAvx2, kMr, kNr, kByRows.data(), pack_panel_generic};
  return set;
}

#else
const F32KernelSet& f32_kernels_avx2() { return f32_kernels_scalar(); }
#endif

}  // namespace xpusim::kernels::detail
