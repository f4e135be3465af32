// Normalisations and activations of transformer layers, fp32 in and out, row-major [rows, dim]
// (or flat arrays for the pointwise ones). Statistics (mean, variance, softmax sums) are
// accumulated in fp64 and rounded once to fp32, so results do not depend on threads or ISA.
// `out` may be the same memory as an input (in place); any other overlap is undefined.
#pragma once

#include <cstddef>
#include <span>

#include "workloads/kernels/kernel_options.h"

namespace xpusim::kernels {

// LLaMA RMSNorm (Hugging Face LlamaRMSNorm in fp32):
//   r = 1 / sqrt(mean(x^2) + eps);  out[i] = weight[i] * (x[i] * r).
void rms_norm(std::span<const float> x, std::span<const float> weight, std::span<float> out,
              std::size_t rows, float eps = 1e-6f, const KernelOptions& opt = {});

// LayerNorm with biased variance: out[i] = (x[i] - mean) * r * gamma[i] + beta[i],
// r = 1 / sqrt(var + eps). beta may be empty (no bias).
void layer_norm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
                std::span<float> out, std::size_t rows, float eps = 1e-5f,
                const KernelOptions& opt = {});

// Numerically stable softmax of each row: e_i = exp(x_i - max), out_i = e_i / sum(e).
// A row of -inf only gives NaN (no finite value to normalise by).
void softmax(std::span<const float> x, std::span<float> out, std::size_t rows,
             const KernelOptions& opt = {});

// silu(x) = x / (1 + exp(-x)); swiglu(gate, up) = silu(gate) * up (the LLaMA MLP).
void silu(std::span<const float> x, std::span<float> out, const KernelOptions& opt = {});
void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out,
            const KernelOptions& opt = {});

// gelu_erf(x) = x/2 * (1 + erf(x / sqrt 2)) (exact GELU);
// gelu_tanh(x) = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) (GPT-2 "gelu_new").
void gelu_erf(std::span<const float> x, std::span<float> out, const KernelOptions& opt = {});
void gelu_tanh(std::span<const float> x, std::span<float> out, const KernelOptions& opt = {});

}  // namespace xpusim::kernels
