// Causal grouped-query attention over a KV cache, fp32 throughout: query t of the q_len tokens
// last appended to the cache sits at position p = cache.length() - q_len + t and gets
// softmax(scale * q k_j^T, j <= p) V; query head h reads KV head h / (n_heads / n_kv_heads),
// as Hugging Face's repeat_kv does. Prefill: q_len > 1 after a cache of L; decode: q_len = 1.
#pragma once

#include <cstddef>
#include <span>

#include "workloads/kernels/kernel_options.h"
#include "workloads/kernels/kv_cache.h"

namespace xpusim::kernels {

struct AttentionConfig {
  std::size_t n_heads = 0;  // query heads; a multiple of the cache's n_kv_heads
  float scale = 0.0f;       // 0: 1 / sqrt(head_dim)
};

// q, out: [q_len, n_heads * head_dim]. Scores are fp32 dot products; the softmax subtracts the
// row maximum, exponentiates in fp32, normalises p_j = e_j / sum (sum in fp32, ascending j) and
// out = sum_j p_j v_j by fp32 FMAs in ascending j. Throws std::invalid_argument on a shape
// mismatch or q_len > cache.length().
void attention(std::span<const float> q, std::size_t q_len, const KvCache& cache,
               std::span<float> out, const AttentionConfig& config, const KernelOptions& opt = {});

}  // namespace xpusim::kernels
