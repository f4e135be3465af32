// fp32 dot product and axpy (y += alpha x, one FMA per element) for attention, in AVX-512,
// AVX2 and portable versions.
#include "workloads/kernels/vec_ops.h"

#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XPUSIM_HAVE_X86 1
#endif

namespace xpusim::kernels::detail {
namespace {

float dot_scalar(const float* a, const float* b, std::size_t n) {
  float lane[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lane[l] = std::fma(a[i + l], b[i + l], lane[l]);
  for (int l = 0; i < n; ++i, ++l) lane[l] = std::fma(a[i], b[i], lane[l]);
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

void axpy_scalar(float alpha, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
}

#ifdef XPUSIM_HAVE_X86
__attribute__((target("avx512f,avx512bw,avx2,fma"))) float dot_avx512(const float* a,
                                                                      const float* b,
                                                                      std::size_t n) {
  // Two accumulators halve the FMA latency chain; lane count 32 (2 x 16).
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
  }
  alignas(64) float lane[16];
  _mm512_store_ps(lane, _mm512_add_ps(s0, s1));
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
  return lane[0];
}

__attribute__((target("avx512f,avx512bw,avx2,fma"))) void axpy_avx512(float alpha, const float* x,
                                                                      float* y, std::size_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  alignas(32) float lane[8];
  _mm256_store_ps(lane, _mm256_add_ps(s0, s1));
  for (int l = 0; i < n; ++i, ++l) lane[l % 8] = std::fma(a[i], b[i], lane[l % 8]);
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float alpha, const float* x, float* y,
                                                   std::size_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
}
#endif

}  // namespace

const VecOps& vec_ops(Isa isa) {
  static const VecOps scalar{dot_scalar, axpy_scalar};
#ifdef XPUSIM_HAVE_X86
  static const VecOps avx2{dot_avx2, axpy_avx2};
  static const VecOps avx512{dot_avx512, axpy_avx512};
  if (isa == Isa::kAvx512) return avx512;
  if (isa == Isa::kAvx2) return avx2;
#endif
  (void)isa;
  return scalar;
}

}  // namespace xpusim::kernels::detail
