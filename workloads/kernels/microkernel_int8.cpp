// int8 x int8 -> int32 micro-kernels: AVX-512BW (12 x 32 tile, vpmaddwd + vpaddd), AVX2
// (6 x 16) and portable scalar (4 x 16). Integer sums are exact, so all three agree bit for bit.
#include "workloads/kernels/microkernel_int8.h"

#include <array>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XPUSIM_HAVE_X86 1
#endif

namespace xpusim::kernels::detail {
namespace {

template <std::size_t R, std::size_t Mr, std::size_t Nr>
void kernel_scalar(std::size_t kp, const std::int16_t* a, const std::int16_t* b, std::int32_t* c,
                   std::size_t ldc, bool accumulate) {
  std::int32_t acc[R][Nr];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < Nr; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0;
  for (std::size_t p = 0; p < kp; ++p, a += 2 * Mr, b += 2 * Nr)
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t j = 0; j < Nr; ++j)
        acc[r][j] += std::int32_t{a[2 * r]} * b[2 * j] + std::int32_t{a[2 * r + 1]} * b[2 * j + 1];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < Nr; ++j) c[r * ldc + j] = acc[r][j];
}

template <std::size_t... R>
constexpr std::array<Int8MicroKernel, sizeof...(R)> scalar_table(std::index_sequence<R...>) {
  return {kernel_scalar<R + 1, 4, 16>...};
}
constexpr auto kScalarByRows = scalar_table(std::make_index_sequence<4>());

#ifdef XPUSIM_HAVE_X86
template <std::size_t R>
__attribute__((target("avx512f,avx512bw,avx2,fma"))) void kernel_avx512(
    std::size_t kp, const std::int16_t* a, const std::int16_t* b, std::int32_t* c, std::size_t ldc,
    bool accumulate) {
  __m512i c0[R], c1[R];
#pragma GCC unroll 16
  for (std::size_t r = 0; r < R; ++r) {
    c0[r] = accumulate ? _mm512_loadu_si512(c + r * ldc) : _mm512_setzero_si512();
    c1[r] = accumulate ? _mm512_loadu_si512(c + r * ldc + 16) : _mm512_setzero_si512();
  }
  for (std::size_t p = 0; p < kp; ++p, a += 2 * 12, b += 2 * 32) {
    const __m512i b0 = _mm512_load_si512(b);
    const __m512i b1 = _mm512_load_si512(b + 32);
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t pair;
      __builtin_memcpy(&pair, a + 2 * r, 4);
      const __m512i ar = _mm512_set1_epi32(pair);
      c0[r] = _mm512_add_epi32(c0[r], _mm512_madd_epi16(ar, b0));
      c1[r] = _mm512_add_epi32(c1[r], _mm512_madd_epi16(ar, b1));
    }
  }
#pragma GCC unroll 16
  for (std::size_t r = 0; r < R; ++r) {
    _mm512_storeu_si512(c + r * ldc, c0[r]);
    _mm512_storeu_si512(c + r * ldc + 16, c1[r]);
  }
}

template <std::size_t R>
__attribute__((target("avx2,fma"))) void kernel_avx2(std::size_t kp, const std::int16_t* a,
                                                     const std::int16_t* b, std::int32_t* c,
                                                     std::size_t ldc, bool accumulate) {
  __m256i c0[R], c1[R];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < R; ++r) {
    const auto* cr = reinterpret_cast<const __m256i*>(c + r * ldc);
    c0[r] = accumulate ? _mm256_loadu_si256(cr) : _mm256_setzero_si256();
    c1[r] = accumulate ? _mm256_loadu_si256(cr + 1) : _mm256_setzero_si256();
  }
  for (std::size_t p = 0; p < kp; ++p, a += 2 * 6, b += 2 * 16) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 16));
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t pair;
      __builtin_memcpy(&pair, a + 2 * r, 4);
      const __m256i ar = _mm256_set1_epi32(pair);
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(ar, b0));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(ar, b1));
    }
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < R; ++r) {
    auto* cr = reinterpret_cast<__m256i*>(c + r * ldc);
    _mm256_storeu_si256(cr, c0[r]);
    _mm256_storeu_si256(cr + 1, c1[r]);
  }
}

template <std::size_t... R>
constexpr std::array<Int8MicroKernel, sizeof...(R)> avx512_table(std::index_sequence<R...>) {
  return {kernel_avx512<R + 1>...};
}
template <std::size_t... R>
constexpr std::array<Int8MicroKernel, sizeof...(R)> avx2_table(std::index_sequence<R...>) {
  return {kernel_avx2<R + 1>...};
}
constexpr auto kAvx512ByRows = avx512_table(std::make_index_sequence<12>());
constexpr auto kAvx2ByRows = avx2_table(std::make_index_sequence<6>());
#endif

}  // namespace

void pack_int8_pairs(const std::int8_t* src, std::size_t ld, std::size_t rows, std::size_t k,
                     std::size_t p0, std::size_t kp, std::size_t width, std::int16_t* dst) {
  for (std::size_t p = 0; p < kp; ++p) {
    const std::size_t k0 = 2 * (p0 + p);
    std::int16_t* d = dst + p * width * 2;
    for (std::size_t r = 0; r < width; ++r) {
      const bool in = r < rows;
      d[2 * r] = in && k0 < k ? src[r * ld + k0] : 0;
      d[2 * r + 1] = in && k0 + 1 < k ? src[r * ld + k0 + 1] : 0;
    }
  }
}

const Int8KernelSet& int8_kernel_set(Isa isa) {
  static const Int8KernelSet scalar{Isa::kScalar, 4, 16, kScalarByRows.data()};
#ifdef XPUSIM_HAVE_X86
  static const Int8KernelSet avx2{Isa::kAvx2, 6, 16, kAvx2ByRows.data()};
  static const Int8KernelSet avx512{Isa::kAvx512, 12, 32, kAvx512ByRows.data()};
  if (isa == Isa::kAvx512) return avx512;
  if (isa == Isa::kAvx2) return avx2;
#endif
  (void)isa;
  return scalar;
}

}  // namespace xpusim::kernels::detail
