// Internal: the cache-blocked, multithreaded fp32 GEMM driver that every floating-point
// datapath runs on, Y[m,n] = X[m,k] * W[n,k]^T with one fp32 FMA per product in ascending k.
// W is read through WeightRows so that format conversion, int4 dequantisation and 2:4
// decompression happen while packing, once per panel, without a full-size copy of W.
#pragma once

#include <cstddef>
#include <functional>

#include "workloads/kernels/kernel_options.h"

namespace xpusim::kernels::detail {

struct WeightRows {
  // Plain fp32 rows used as they are: row i of W starts at dense + i * ld.
  const float* dense = nullptr;
  std::size_t ld = 0;
  // Otherwise: writes W[n0 + r][k0 + j] for r < rows, j < kc into dst[r * kc + j]. Called
  // concurrently from several threads, each with its own dst.
  std::function<void(std::size_t n0, std::size_t rows, std::size_t k0, std::size_t kc, float* dst)>
      fill;
};

// x: m * k row-major; y: m * n row-major (overwritten). Sizes are the caller's to check.
void f32_gemm_engine(const float* x, std::size_t m, std::size_t n, std::size_t k,
                     const WeightRows& w, float* y, const KernelOptions& opt);

// Block sizes, exposed for the benchmark's record: k per packed panel, and rows of X per block.
constexpr std::size_t kGemmKc = 512;
constexpr std::size_t kGemmMc = 576;

}  // namespace xpusim::kernels::detail
