// Row-wise normalisations (RMSNorm, LayerNorm, softmax) and pointwise activations (SiLU,
// SwiGLU, GELU erf/tanh), parallel over rows or 64 Ki-element chunks.
#include "workloads/kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/parallel.h"

namespace xpusim::kernels {
namespace {

std::size_t row_dim(std::size_t size, std::size_t rows, const char* who) {
  if (rows == 0) {
    detail::check_size(size, 0, who);
    return 0;
  }
  if (size % rows != 0)
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(size) +
                                " elements do not split into " + std::to_string(rows) + " rows");
  return size / rows;
}

// Calls fn(begin, end) over chunks of [0, n) in parallel.
template <class Fn>
void for_chunks(std::size_t n, const KernelOptions& opt, Fn&& fn) {
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  detail::parallel_for(
      (n + kChunk - 1) / kChunk, resolve_threads(opt.num_threads),
      [&](std::size_t c, unsigned) { fn(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}

template <class Fn>
void for_rows(std::size_t rows, std::size_t dim, const KernelOptions& opt, Fn&& fn) {
  const std::size_t rows_per_task = std::max<std::size_t>(1, 16384 / std::max<std::size_t>(1, dim));
  detail::parallel_for((rows + rows_per_task - 1) / rows_per_task, resolve_threads(opt.num_threads),
                       [&](std::size_t t, unsigned) {
                         for (std::size_t r = t * rows_per_task;
                              r < std::min(rows, (t + 1) * rows_per_task); ++r)
                           fn(r);
                       });
}

float silu1(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void rms_norm(std::span<const float> x, std::span<const float> weight, std::span<float> out,
              std::size_t rows, float eps, const KernelOptions& opt) {
  const std::size_t dim = row_dim(x.size(), rows, "rms_norm");
  detail::check_size(weight.size(), dim, "rms_norm weight");
  detail::check_size(out.size(), x.size(), "rms_norm output");
  for_rows(rows, dim, opt, [&](std::size_t r) {
    const float* xr = x.data() + r * dim;
    double sum_sq = 0.0;
    for (std::size_t i = 0; i < dim; ++i) sum_sq += double(xr[i]) * double(xr[i]);
    const float mean_sq = static_cast<float>(sum_sq / double(dim));
    const float inv = 1.0f / std::sqrt(mean_sq + eps);
    float* o = out.data() + r * dim;
    for (std::size_t i = 0; i < dim; ++i) o[i] = weight[i] * (xr[i] * inv);
  });
}

void layer_norm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
                std::span<float> out, std::size_t rows, float eps, const KernelOptions& opt) {
  const std::size_t dim = row_dim(x.size(), rows, "layer_norm");
  detail::check_size(gamma.size(), dim, "layer_norm gamma");
  if (!beta.empty()) detail::check_size(beta.size(), dim, "layer_norm beta");
  detail::check_size(out.size(), x.size(), "layer_norm output");
  for_rows(rows, dim, opt, [&](std::size_t r) {
    const float* xr = x.data() + r * dim;
    double sum = 0.0;
    for (std::size_t i = 0; i < dim; ++i) sum += xr[i];
    const double mean = sum / double(dim);
    double sq = 0.0;  // two-pass variance: no cancellation for rows with a large mean
    for (std::size_t i = 0; i < dim; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float mean_f = static_cast<float>(mean);
    const float inv = 1.0f / std::sqrt(static_cast<float>(sq / double(dim)) + eps);
    float* o = out.data() + r * dim;
    for (std::size_t i = 0; i < dim; ++i) {
      const float v = (xr[i] - mean_f) * inv * gamma[i];
      o[i] = beta.empty() ? v : v + beta[i];
    }
  });
}

void softmax(std::span<const float> x, std::span<float> out, std::size_t rows,
             const KernelOptions& opt) {
  const std::size_t dim = row_dim(x.size(), rows, "softmax");
  detail::check_size(out.size(), x.size(), "softmax output");
  for_rows(rows, dim, opt, [&](std::size_t r) {
    const float* xr = x.data() + r * dim;
    float* o = out.data() + r * dim;
    const float mx = dim == 0 ? 0.0f : *std::max_element(xr, xr + dim);
    double sum = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
      o[i] = std::exp(xr[i] - mx);
      sum += o[i];
    }
    const float total = static_cast<float>(sum);
    for (std::size_t i = 0; i < dim; ++i) o[i] /= total;
  });
}

void silu(std::span<const float> x, std::span<float> out, const KernelOptions& opt) {
  detail::check_size(out.size(), x.size(), "silu output");
  for_chunks(x.size(), opt, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) out[i] = silu1(x[i]);
  });
}

void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out,
            const KernelOptions& opt) {
  detail::check_size(up.size(), gate.size(), "swiglu up");
  detail::check_size(out.size(), gate.size(), "swiglu output");
  for_chunks(gate.size(), opt, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) out[i] = silu1(gate[i]) * up[i];
  });
}

void gelu_erf(std::span<const float> x, std::span<float> out, const KernelOptions& opt) {
  detail::check_size(out.size(), x.size(), "gelu_erf output");
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for_chunks(x.size(), opt, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
  });
}

void gelu_tanh(std::span<const float> x, std::span<float> out, const KernelOptions& opt) {
  detail::check_size(out.size(), x.size(), "gelu_tanh output");
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  for_chunks(x.size(), opt, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const float v = x[i];
      out[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
    }
  });
}

}  // namespace xpusim::kernels
