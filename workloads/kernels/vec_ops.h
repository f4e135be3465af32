// Internal: the two fp32 vector loops attention is made of, per ISA. dot() sums in `lanes`
// interleaved partial sums (lane l takes elements l, l + lanes, ...) combined in a fixed
// tree, so its result depends on the ISA's lane count but never on threads; axpy is
// y[i] = fma(alpha, x[i], y[i]), exact per element and identical on every ISA.
#pragma once

#include <cstddef>

#include "workloads/kernels/kernel_options.h"

namespace xpusim::kernels::detail {

struct VecOps {
  float (*dot)(const float* a, const float* b, std::size_t n);
  void (*axpy)(float alpha, const float* x, float* y, std::size_t n);
};

const VecOps& vec_ops(Isa isa);  // isa resolved

}  // namespace xpusim::kernels::detail
