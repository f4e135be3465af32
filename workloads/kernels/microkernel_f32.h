// Internal interface of the fp32 GEMM micro-kernels (one set per ISA) and of the panel packing
// they read. A panel is a transposed block: panel[k * width + i] = src[i * ld + k]. Every
// micro-kernel does exactly one fp32 FMA per (row, column, k), in ascending k.
#pragma once

#include <cstddef>

#include "workloads/kernels/kernel_options.h"

namespace xpusim::kernels::detail {

// For each row r < R (the kernel's row count) and column j < nr of the tile C (row stride ldc):
//   acc = accumulate ? C[r][j] : +0;  for k < kc: acc = fma(a[k * mr + r], b[k * nr + j], acc);
//   C[r][j] = acc.
// a is an A panel of width mr, b a B panel of width nr, both 64-byte aligned.
using F32MicroKernel = void (*)(std::size_t kc, const float* a, const float* b, float* c,
                                std::size_t ldc, bool accumulate);

// Packs rows [0, rows) and columns [0, kc) of the row-major matrix src (leading dimension ld)
// into dst[kc][width], with panel rows rows..width-1 set to zero.
using PackFn = void (*)(const float* src, std::size_t ld, std::size_t rows, std::size_t kc,
                        std::size_t width, float* dst);

struct F32KernelSet {
  Isa isa;
  std::size_t mr;  // rows of A per panel (broadcast operand)
  std::size_t nr;  // columns of B per panel (vector operand), a multiple of the vector width
  const F32MicroKernel* by_rows;  // by_rows[r - 1] computes r rows, r in [1, mr]
  PackFn pack_b;                  // called with width == nr
};

// isa must be resolved (not kAuto) and supported.
const F32KernelSet& f32_kernel_set(Isa isa);

// Portable packing for any width (used for A panels and by the scalar set).
void pack_panel_generic(const float* src, std::size_t ld, std::size_t rows, std::size_t kc,
                        std::size_t width, float* dst);

const F32KernelSet& f32_kernels_scalar();
const F32KernelSet& f32_kernels_avx2();
const F32KernelSet& f32_kernels_avx512();

}  // namespace xpusim::kernels::detail
