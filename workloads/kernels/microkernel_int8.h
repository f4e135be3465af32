// Internal interface of the int8 GEMM micro-kernels. Operands are int8 values widened to int16
// and packed in k-pairs: A panel [k/2][mr][2], B panel [k/2][nr][2]; one pmaddwd multiplies a
// pair of each and adds the two products into an int32 lane, exactly (|q| <= 128).
#pragma once

#include <cstddef>
#include <cstdint>

#include "workloads/kernels/kernel_options.h"

namespace xpusim::kernels::detail {

// C[r][j] (int32, row stride ldc) = (accumulate ? C : 0) + sum_{p < kp} sum_{h < 2}
//   a[(p * mr + r) * 2 + h] * b[(p * nr + j) * 2 + h], for r < R, j < nr.
using Int8MicroKernel = void (*)(std::size_t kp, const std::int16_t* a, const std::int16_t* b,
                                 std::int32_t* c, std::size_t ldc, bool accumulate);

struct Int8KernelSet {
  Isa isa;
  std::size_t mr;
  std::size_t nr;
  const Int8MicroKernel* by_rows;  // by_rows[r - 1] computes r rows
};

const Int8KernelSet& int8_kernel_set(Isa isa);  // isa resolved

// Packs rows [0, rows) of the int8 matrix src (row stride ld, `k` columns) as a pair panel of
// `width` rows over k-pairs [p0, p0 + kp): columns beyond k and rows beyond `rows` are zero.
void pack_int8_pairs(const std::int8_t* src, std::size_t ld, std::size_t rows, std::size_t k,
                     std::size_t p0, std::size_t kp, std::size_t width, std::int16_t* dst);

}  // namespace xpusim::kernels::detail
