// Internal: how a floating-point datapath turns an fp32 operand into the values its multiplier
// sees (round to the input format, after dividing by a per-tensor scale for fp8), and how the
// fp32 result is finished (scale back, round to the output format). Shared by dense and
// sparse GEMMs so that both emulate the same datapath.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "workloads/kernels/gemm.h"

namespace xpusim::kernels::detail {

struct FloatOperand {
  numerics::FloatFormat format = numerics::FloatFormat::kFp32;
  float scale = 1.0f;  // the multiplier sees round(x / scale); 1 except for fp8
  bool identity() const { return format == numerics::FloatFormat::kFp32 && scale == 1.0f; }
};

// The input format of a floating-point GemmInput (kFp32 .. kFp8E5M2); throws otherwise.
numerics::FloatFormat float_input_format(GemmInput in);
bool is_float_input(GemmInput in);

// Operand description for `values` (the scale is computed from them for fp8 formats).
FloatOperand make_float_operand(GemmInput in, std::span<const float> values);

// dst[i] = round(src[i] / op.scale) in op.format, i < count; dst may be src.
void round_operand(const float* src, std::size_t count, float* dst, const FloatOperand& op);

// The whole matrix rounded (parallel over row blocks).
std::vector<float> round_matrix(std::span<const float> x, const FloatOperand& op, unsigned threads);

// y *= scale (if not 1), then y rounded to `out`.
void finish_output(std::span<float> y, float scale, numerics::FloatFormat out, unsigned threads);

void check_size(std::size_t got, std::size_t want, const char* what);

}  // namespace xpusim::kernels::detail
