// Portable fp32 micro-kernel (4 x 16 tile, std::fma per element) and panel packing: the
// fallback for CPUs without AVX2 and the bit-exact yardstick that the vector kernels match.
#include <algorithm>
#include <array>
#include <cmath>

#include "workloads/kernels/microkernel_f32.h"

namespace xpusim::kernels::detail {
namespace {

constexpr std::size_t kMr = 4;
constexpr std::size_t kNr = 16;

template <std::size_t R>
void kernel_scalar(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                   bool accumulate) {
  float acc[R][kNr];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < kNr; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0.0f;
  for (std::size_t k = 0; k < kc; ++k, a += kMr, b += kNr)
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t j = 0; j < kNr; ++j) acc[r][j] = std::fma(a[r], b[j], acc[r][j]);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < kNr; ++j) c[r * ldc + j] = acc[r][j];
}

constexpr std::array<F32MicroKernel, kMr> kByRows = {kernel_scalar<1>, kernel_scalar<2>,
                                                     kernel_scalar<3>, kernel_scalar<4>};

}  // namespace

void pack_panel_generic(const float* src, std::size_t ld, std::size_t rows, std::size_t kc,
                        std::size_t width, float* dst) {
  // Blocks of 8 k keep the `rows` source lines hot while the destination fills in order.
  constexpr std::size_t kBlock = 8;
  for (std::size_t k0 = 0; k0 < kc; k0 += kBlock) {
    const std::size_t kb = std::min(kBlock, kc - k0);
    for (std::size_t k = 0; k < kb; ++k) {
      float* d = dst + (k0 + k) * width;
      for (std::size_t r = 0; r < rows; ++r) d[r] = src[r * ld + k0 + k];
      for (std::size_t r = rows; r < width; ++r) d[r] = 0.0f;
    }
  }
}

const F32KernelSet& f32_kernels_scalar() {
  static const F32KernelSet set{Isa::kScalar, kMr, kNr, kByRows.data(), pack_panel_generic};
  return set;
}

const F32KernelSet& f32_kernel_set(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return f32_kernels_avx512();
    case Isa::kAvx2:
      return f32_kernels_avx2();
    default:
      return f32_kernels_scalar();
  }
}

}  // namespace xpusim::kernels::detail
