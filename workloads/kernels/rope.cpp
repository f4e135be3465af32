// RoPE (rotate-half, Hugging Face LLaMA) on fp32 [tokens, heads * head_dim] in place, with
// per-token fp32 cos/sin tables shared by all heads.
#include "workloads/kernels/rope.h"

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads/kernels/float_operand.h"

namespace xpusim::kernels {

void rope_inv_freq(const RopeConfig& cfg, std::span<float> out) {
  if (cfg.head_dim == 0 || cfg.head_dim % 2 != 0)
    throw std::invalid_argument("rope: head_dim = " + std::to_string(cfg.head_dim) +
                                " must be positive and even");
  if (!(cfg.theta > 0.0f)) throw std::invalid_argument("rope: theta must be positive");
  detail::check_size(out.size(), cfg.head_dim / 2, "rope inv_freq");
  for (std::size_t i = 0; i < cfg.head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(cfg.head_dim);
    out[i] = 1.0f / std::pow(cfg.theta, exponent);
  }
}

void apply_rope(std::span<float> x, std::size_t tokens, std::size_t n_heads,
                std::span<const std::int64_t> positions, const RopeConfig& cfg) {
  const std::size_t half = cfg.head_dim / 2;
  std::vector<float> inv_freq(half), cos_t(half), sin_t(half);
  rope_inv_freq(cfg, inv_freq);
  detail::check_size(x.size(), tokens * n_heads * cfg.head_dim, "rope input");
  detail::check_size(positions.size(), tokens, "rope positions");
  for (std::size_t t = 0; t < tokens; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[i];
      cos_t[i] = std::cos(angle);
      sin_t[i] = std::sin(angle);
    }
    for (std::size_t h = 0; h < n_heads; ++h) {
      float* v = x.data() + (t * n_heads + h) * cfg.head_dim;
      for (std::size_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        const float a_c = a * cos_t[i], b_s = b * sin_t[i], b_c = b * cos_t[i], a_s = a * sin_t[i];
        v[i] = a_c - b_s;
        v[i + half] = b_c + a_s;
      }
    }
  }
}

void apply_rope(std::span<float> x, std::size_t tokens, std::size_t n_heads,
                std::size_t start_position, const RopeConfig& cfg) {
  std::vector<std::int64_t> pos(tokens);
  std::iota(pos.begin(), pos.end(), static_cast<std::int64_t>(start_position));
  apply_rope(x, tokens, n_heads, pos, cfg);
}

}  // namespace xpusim::kernels
