// AVX-512 fp32 micro-kernel: a 12 x 32 tile in 24 zmm accumulators (2 B vectors, 12 broadcasts
// and 24 FMAs per k), plus B-panel packing by 16 x 16 in-register transposes, since both GEMM
// operands are K-contiguous (Y = X W^T) and packing W is a transpose.
#include <algorithm>
#include <array>

#include "workloads/kernels/microkernel_f32.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XPUSIM_HAVE_X86 1
// GCC 12 warns inside its own shuffle intrinsics, whose pass-through operand is the
// deliberately undefined _mm512_undefined_ps() (a false positive fixed in later GCCs).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace xpusim::kernels::detail {

#ifdef XPUSIM_HAVE_X86
namespace {

#define XPUSIM_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma")))

constexpr std::size_t kMr = 12;
constexpr std::size_t kNr = 32;

template <std::size_t R>
XPUSIM_AVX512 void kernel_avx512(std::size_t kc, const float* a, const float* b, float* c,
                                 std::size_t ldc, bool accumulate) {
  __m512 c0[R], c1[R];
#pragma GCC unroll 16
  for (std::size_t r = 0; r < R; ++r) {
    c0[r] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
    c1[r] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
  }
  for (std::size_t k = 0; k < kc; ++k, a += kMr, b += kNr) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 16
  for (std::size_t r = 0; r < R; ++r) {
    _mm512_storeu_ps(c + r * ldc, c0[r]);
    _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
  }
}

constexpr std::array<F32MicroKernel, kMr> kByRows = {
    kernel_avx512<1>, kernel_avx512<2>,  kernel_avx512<3>,  kernel_avx512<4>,
    kernel_avx512<5>, kernel_avx512<6>,  kernel_avx512<7>,  kernel_avx512<8>,
    kernel_avx512<9>, kernel_avx512<10>, kernel_avx512<11>, kernel_avx512<12>};

// In-place transpose of a 16 x 16 block held in r[0..15] (row i -> column i).
XPUSIM_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4j + c], 128-bit lane l: column 4l + c of rows 4j..4j+3.
  for (int j = 0; j < 16; j += 4) {
    u[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
    u[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
    u[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    u[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 v = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    const __m512 w = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(v, v2, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v, v2, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(w, w2, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(w, w2, 0xDD);
  }
}

// Packs with 16 x 16 transposes: rows in groups of 16 (missing rows read as zero), k in blocks
// of 16 (a short last block is loaded and stored under a mask).
XPUSIM_AVX512 void pack_avx512(const float* src, std::size_t ld, std::size_t rows, std::size_t kc,
                               std::size_t width, float* dst) {
  if (width % 16 != 0) return pack_panel_generic(src, ld, rows, kc, width, dst);
  for (std::size_t k0 = 0; k0 < kc; k0 += 16) {
    const std::size_t kb = std::min<std::size_t>(16, kc - k0);
    const __mmask16 mask = static_cast<__mmask16>((1u << kb) - 1);
    for (std::size_t r0 = 0; r0 < width; r0 += 16) {
      __m512 v[16];
      for (std::size_t i = 0; i < 16; ++i)
        v[i] = r0 + i < rows ? _mm512_maskz_loadu_ps(mask, src + (r0 + i) * ld + k0)
                             : _mm512_setzero_ps();
      transpose16(v);
      for (std::size_t k = 0; k < kb; ++k) _mm512_store_ps(dst + (k0 + k) * width + r0, v[k]);
    }
  }
}

}  // namespace

const F32KernelSet& f32_kernels_avx512() {
  static const F32KernelSet set{Isa::kAvx512, kMr, kNr, kByRows.data(), pack_avx512};
  return set;
}

#else
const F32KernelSet& f32_kernels_avx512() { return f32_kernels_scalar(); }
#endif

}  // namespace xpusim::kernels::detail
