// Rotary position embedding in the rotate-half convention of Hugging Face LLaMA: within each
// head of head_dim values, element i pairs with i + head_dim/2 and both rotate by the angle
// position * theta^(-2i / head_dim), computed in fp32 the way transformers does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace xpusim::kernels {

struct RopeConfig {
  std::size_t head_dim = 0;  // even
  float theta = 10000.0f;    // rope_theta of config.json
};

// The fp32 inverse frequencies 1 / theta^(2i / head_dim), i < head_dim / 2 (as transformers'
// _compute_default_rope_parameters: fp32 exponent, fp32 pow, fp32 reciprocal).
void rope_inv_freq(const RopeConfig& cfg, std::span<float> out);

// In place on x = [tokens, n_heads * head_dim] (queries or keys); token t is at position
// positions[t]. With a = float(position) * inv_freq[i] (one fp32 product), c = cos a, s = sin a:
//   x'[i] = x[i] * c - x[i + h] * s,   x'[i + h] = x[i + h] * c + x[i] * s   (h = head_dim / 2),
// each product and sum rounded to fp32 separately (no FMA), as q * cos + rotate_half(q) * sin.
void apply_rope(std::span<float> x, std::size_t tokens, std::size_t n_heads,
                std::span<const std::int64_t> positions, const RopeConfig& cfg);
// Positions start_position, start_position + 1, ...
void apply_rope(std::span<float> x, std::size_t tokens, std::size_t n_heads,
                std::size_t start_position, const RopeConfig& cfg);

}  // namespace xpusim::kernels
