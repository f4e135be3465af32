// Floating-point GEMM datapaths (fp32, bf16, fp16, fp8 e4m3/e5m2 inputs, fp32 accumulation),
// the dispatch of gemm() over every datapath, and the fp64 reference. Operand rounding of W is
// fused into panel packing (gemm_engine.h); X is rounded once up front.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm.h"
#include "workloads/kernels/gemm_engine.h"
#include "workloads/kernels/parallel.h"

namespace xpusim::kernels {
namespace detail {

void check_size(std::size_t got, std::size_t want, const char* what) {
  if (got != want)
    throw std::invalid_argument(std::string("kernels: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}

bool is_float_input(GemmInput in) {
  return in == GemmInput::kFp32 || in == GemmInput::kBf16 || in == GemmInput::kFp16 ||
         in == GemmInput::kFp8E4M3 || in == GemmInput::kFp8E5M2;
}

numerics::FloatFormat float_input_format(GemmInput in) {
  using numerics::FloatFormat;
  switch (in) {
    case GemmInput::kFp32:
      return FloatFormat::kFp32;
    case GemmInput::kBf16:
      return FloatFormat::kBf16;
    case GemmInput::kFp16:
      return FloatFormat::kFp16;
    case GemmInput::kFp8E4M3:
      return FloatFormat::kFp8E4M3;
    case GemmInput::kFp8E5M2:
      return FloatFormat::kFp8E5M2;
    default:
      throw std::invalid_argument("kernels: not a floating-point GEMM input");
  }
}

FloatOperand make_float_operand(GemmInput in, std::span<const float> values) {
  FloatOperand op;
  op.format = float_input_format(in);
  if (op.format == numerics::FloatFormat::kFp8E4M3 || op.format == numerics::FloatFormat::kFp8E5M2)
    op.scale = fp8_tensor_scale(values, op.format);
  return op;
}

void round_operand(const float* src, std::size_t count, float* dst, const FloatOperand& op) {
  // Each format's hardware conversion: fp8 saturates (Hopper's cvt .satfinite), bf16 and fp16
  // overflow to Inf (cvt.rn).
  const bool fp8 =
      op.format == numerics::FloatFormat::kFp8E4M3 || op.format == numerics::FloatFormat::kFp8E5M2;
  const numerics::OverflowMode mode =
      fp8 ? numerics::OverflowMode::kSaturating : numerics::OverflowMode::kNonSaturating;
  if (op.scale != 1.0f) {
    for (std::size_t i = 0; i < count; ++i) dst[i] = src[i] / op.scale;
    src = dst;
  }
  numerics::quantize(op.format, {src, count}, {dst, count}, mode);
}

std::vector<float> round_matrix(std::span<const float> x, const FloatOperand& op,
                                unsigned threads) {
  std::vector<float> out(x.size());
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  parallel_for((x.size() + kChunk - 1) / kChunk, threads, [&](std::size_t t, unsigned) {
    const std::size_t i0 = t * kChunk, n = std::min(kChunk, x.size() - i0);
    round_operand(x.data() + i0, n, out.data() + i0, op);
  });
  return out;
}

void finish_output(std::span<float> y, float scale, numerics::FloatFormat out, unsigned threads) {
  if (scale == 1.0f && out == numerics::FloatFormat::kFp32) return;
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  parallel_for((y.size() + kChunk - 1) / kChunk, threads, [&](std::size_t t, unsigned) {
    const std::span<float> part = y.subspan(t * kChunk, std::min(kChunk, y.size() - t * kChunk));
    if (scale != 1.0f)
      for (float& v : part) v *= scale;
    numerics::quantize(out, part, part, numerics::OverflowMode::kNonSaturating);
  });
}

}  // namespace detail

using detail::check_size;

float fp8_tensor_scale(std::span<const float> x, numerics::FloatFormat f) {
  float amax = 0.0f;
  for (float v : x) {
    if (!std::isfinite(v)) throw std::invalid_argument("kernels: fp8 scale of a non-finite tensor");
    amax = std::max(amax, std::fabs(v));
  }
  const float scale = amax / numerics::format_info(f).max_finite;
  return scale > 0.0f ? scale : 1.0f;
}

std::string datapath_name(const Datapath& dp) {
  static constexpr const char* kIn[] = {"fp64",     "fp32",     "bf16", "fp16",
                                        "fp8_e4m3", "fp8_e5m2", "int8", "int4"};
  static constexpr const char* kAcc[] = {"fp64", "fp32", "int32"};
  const auto in = static_cast<std::size_t>(dp.input);
  const auto acc = static_cast<std::size_t>(dp.accumulate);
  std::string s = dp.input == GemmInput::kInt4Bf16
                      ? "bf16*int4(g" + std::to_string(dp.int4_group_size) + ")"
                      : std::string(kIn[in]) + "*" + kIn[in];
  s += std::string("->") + kAcc[acc];
  if (dp.output != numerics::FloatFormat::kFp32)
    s += std::string("->") + std::string(numerics::format_info(dp.output).name) + " out";
  return s;
}

std::string datapath_error(const Datapath& dp) {
  const bool float_in = detail::is_float_input(dp.input) || dp.input == GemmInput::kInt4Bf16;
  if (dp.input == GemmInput::kFp64 && dp.accumulate != Accumulator::kFp64)
    return "fp64 inputs need an fp64 accumulator";
  if (dp.input != GemmInput::kFp64 && dp.accumulate == Accumulator::kFp64)
    return "an fp64 accumulator is only emulated with fp64 inputs (the reference)";
  if (dp.input == GemmInput::kInt8 && dp.accumulate != Accumulator::kInt32)
    return "int8 inputs need an int32 accumulator";
  if (float_in && dp.accumulate != Accumulator::kFp32)
    return "floating-point inputs need an fp32 accumulator";
  if (dp.input == GemmInput::kInt4Bf16 && (dp.int4_group_size == 0 || dp.int4_group_size % 2))
    return "int4 group size must be positive and even";
  return "";
}

void gemm_f32(std::span<const float> x, std::span<const float> w, std::span<float> y, GemmShape s,
              const KernelOptions& opt) {
  check_size(x.size(), s.m * s.k, "X");
  check_size(w.size(), s.n * s.k, "W");
  check_size(y.size(), s.m * s.n, "Y");
  detail::WeightRows rows;
  rows.dense = w.data();
  rows.ld = s.k;
  detail::f32_gemm_engine(x.data(), s.m, s.n, s.k, rows, y.data(), opt);
}

void gemm(const Datapath& dp, std::span<const float> x, std::span<const float> w,
          std::span<float> y, GemmShape s, const KernelOptions& opt) {
  if (const std::string err = datapath_error(dp); !err.empty())
    throw std::invalid_argument("kernels: datapath " + datapath_name(dp) + ": " + err);
  check_size(x.size(), s.m * s.k, "X");
  check_size(w.size(), s.n * s.k, "W");
  check_size(y.size(), s.m * s.n, "Y");
  const unsigned threads = resolve_threads(opt.num_threads);
  if (dp.input == GemmInput::kFp64) {
    const std::vector<double> ref = gemm_reference_f64(x, w, s, threads);
    std::transform(ref.begin(), ref.end(), y.begin(), [](double v) { return float(v); });
  } else if (dp.input == GemmInput::kInt8) {
    if (s.m == 0 || s.n == 0) return;
    if (s.k == 0) return std::fill(y.begin(), y.end(), 0.0f);
    using numerics::Granularity;
    const auto qx = numerics::quantize_int8(x, s.m, s.k, {.granularity = Granularity::kPerToken});
    const auto qw = numerics::quantize_int8(w, s.n, s.k, {.granularity = Granularity::kPerChannel});
    gemm_int8(qx, qw, y, opt);
  } else if (dp.input == GemmInput::kInt4Bf16) {
    if (s.m == 0 || s.n == 0) return;
    if (s.k == 0) return std::fill(y.begin(), y.end(), 0.0f);
    gemm_w4a16(x, numerics::quantize_int4(w, s.n, s.k, {.group_size = dp.int4_group_size}), y, s.m,
               opt);
  } else {
    const detail::FloatOperand ox = detail::make_float_operand(dp.input, x);
    const detail::FloatOperand ow = detail::make_float_operand(dp.input, w);
    if (ox.identity() && ow.identity()) {
      gemm_f32(x, w, y, s, opt);
    } else {
      const std::vector<float> xr = detail::round_matrix(x, ox, threads);
      detail::WeightRows rows;
      rows.fill = [&](std::size_t n0, std::size_t r, std::size_t k0, std::size_t kc, float* dst) {
        for (std::size_t i = 0; i < r; ++i)
          detail::round_operand(w.data() + (n0 + i) * s.k + k0, kc, dst + i * kc, ow);
      };
      detail::f32_gemm_engine(xr.data(), s.m, s.n, s.k, rows, y.data(), opt);
    }
    detail::finish_output(y, ox.scale * ow.scale, numerics::FloatFormat::kFp32, threads);
  }
  detail::finish_output(y, 1.0f, dp.output, threads);
}

std::vector<double> gemm_reference_f64(std::span<const float> x, std::span<const float> w,
                                       GemmShape s, unsigned num_threads) {
  check_size(x.size(), s.m * s.k, "X");
  check_size(w.size(), s.n * s.k, "W");
  std::vector<double> y(s.m * s.n);
  detail::parallel_for(s.m, resolve_threads(num_threads), [&](std::size_t i, unsigned) {
    const float* xi = x.data() + i * s.k;
    for (std::size_t j = 0; j < s.n; ++j) {
      const float* wj = w.data() + j * s.k;
      double sum = 0.0;
      for (std::size_t kk = 0; kk < s.k; ++kk) sum += double(xi[kk]) * double(wj[kk]);
      y[i * s.n + j] = sum;
    }
  });
  return y;
}

}  // namespace xpusim::kernels
