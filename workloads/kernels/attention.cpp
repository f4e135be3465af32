// Causal GQA attention: tasks are (query head, block of 16 queries), handed out dynamically so
// that long causal rows balance across threads; each query streams its KV head's cache once
// for the scores and once for the weighted sum of values.
#include "workloads/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/parallel.h"
#include "workloads/kernels/vec_ops.h"

namespace xpusim::kernels {

void attention(std::span<const float> q, std::size_t q_len, const KvCache& cache,
               std::span<float> out, const AttentionConfig& cfg, const KernelOptions& opt) {
  const std::size_t kv_heads = cache.config().n_kv_heads, d = cache.config().head_dim;
  if (cfg.n_heads == 0 || cfg.n_heads % kv_heads != 0)
    throw std::invalid_argument(
        "attention: n_heads = " + std::to_string(cfg.n_heads) +
        " is not a positive multiple of n_kv_heads = " + std::to_string(kv_heads));
  if (q_len > cache.length())
    throw std::invalid_argument("attention: q_len = " + std::to_string(q_len) +
                                " exceeds the cache length " + std::to_string(cache.length()));
  const std::size_t row = cfg.n_heads * d;
  detail::check_size(q.size(), q_len * row, "attention Q");
  detail::check_size(out.size(), q_len * row, "attention output");
  const float scale = cfg.scale != 0.0f ? cfg.scale : 1.0f / std::sqrt(static_cast<float>(d));
  const std::size_t group = cfg.n_heads / kv_heads, first_pos = cache.length() - q_len;
  const detail::VecOps& ops = detail::vec_ops(resolve_isa(opt.isa));
  const unsigned threads = resolve_threads(opt.num_threads);

  constexpr std::size_t kQueriesPerTask = 16;
  const std::size_t q_blocks = (q_len + kQueriesPerTask - 1) / kQueriesPerTask;
  std::vector<std::vector<float>> scratch(detail::parallel_workers(cfg.n_heads * q_blocks, threads),
                                          std::vector<float>(cache.length()));
  detail::parallel_for(cfg.n_heads * q_blocks, threads, [&](std::size_t task, unsigned worker) {
    // Blocks of later (longer) queries first: the dynamic schedule then ends with short tasks.
    const std::size_t h = task % cfg.n_heads, qb = q_blocks - 1 - task / cfg.n_heads;
    const float* keys = cache.keys(h / group);
    const float* values = cache.values(h / group);
    float* p = scratch[worker].data();
    for (std::size_t t = qb * kQueriesPerTask; t < std::min(q_len, (qb + 1) * kQueriesPerTask);
         ++t) {
      const float* qv = q.data() + t * row + h * d;
      const std::size_t n_keys = first_pos + t + 1;  // causal: positions 0..first_pos + t
      float max_score = -INFINITY;
      for (std::size_t j = 0; j < n_keys; ++j) {
        p[j] = ops.dot(qv, keys + j * d, d) * scale;
        max_score = std::max(max_score, p[j]);
      }
      float sum = 0.0f;
      for (std::size_t j = 0; j < n_keys; ++j) {
        p[j] = std::exp(p[j] - max_score);
        sum += p[j];
      }
      float* o = out.data() + t * row + h * d;
      std::fill(o, o + d, 0.0f);
      for (std::size_t j = 0; j < n_keys; ++j) ops.axpy(p[j] / sum, values + j * d, o, d);
    }
  });
}

}  // namespace xpusim::kernels
