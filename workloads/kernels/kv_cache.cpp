// KV cache with emulated storage formats: bf16/fp16 by round-to-nearest-even, fp8 e4m3 and
// int8 with one symmetric fp32 scale per token and KV head, all through the numerics library.
#include "workloads/kernels/kv_cache.h"

#include <stdexcept>
#include <string>

#include "workloads/kernels/float_operand.h"
#include "workloads/kernels/gemm.h"
#include "workloads/numerics/formats.h"
#include "workloads/numerics/int_quant.h"

namespace xpusim::kernels {

std::string_view kv_format_name(KvFormat f) {
  switch (f) {
    case KvFormat::kFp32:
      return "fp32";
    case KvFormat::kBf16:
      return "bf16";
    case KvFormat::kFp16:
      return "fp16";
    case KvFormat::kFp8E4M3:
      return "fp8_e4m3";
    case KvFormat::kInt8:
      return "int8";
  }
  return "?";
}

KvCache::KvCache(const KvCacheConfig& config) : config_(config) {
  if (config.n_kv_heads == 0 || config.head_dim == 0 || config.max_tokens == 0)
    throw std::invalid_argument("KvCache: n_kv_heads, head_dim and max_tokens must be positive");
  const std::size_t size = config.n_kv_heads * config.max_tokens * config.head_dim;
  k_.assign(size, 0.0f);
  v_.assign(size, 0.0f);
}

void KvCache::store(const float* src, float* dst) const {
  const std::size_t d = config_.head_dim;
  using numerics::FloatFormat;
  switch (config_.format) {
    case KvFormat::kFp32:
      std::copy(src, src + d, dst);
      return;
    case KvFormat::kBf16:
      numerics::quantize_bf16({src, d}, {dst, d});
      return;
    case KvFormat::kFp16:
      numerics::quantize_fp16({src, d}, {dst, d});
      return;
    case KvFormat::kFp8E4M3: {
      const float scale = fp8_tensor_scale({src, d}, FloatFormat::kFp8E4M3);
      detail::round_operand(src, d, dst, {FloatFormat::kFp8E4M3, scale});
      for (std::size_t i = 0; i < d; ++i) dst[i] *= scale;
      return;
    }
    case KvFormat::kInt8: {
      const numerics::QuantizedInt8 q = numerics::quantize_int8(
          {src, d}, 1, d, {.granularity = numerics::Granularity::kPerToken});
      numerics::dequantize_int8(q, {dst, d});
      return;
    }
  }
}

void KvCache::append(std::span<const float> k, std::span<const float> v, std::size_t tokens) {
  const std::size_t hd = config_.head_dim, heads = config_.n_kv_heads;
  detail::check_size(k.size(), tokens * heads * hd, "KvCache keys");
  detail::check_size(v.size(), tokens * heads * hd, "KvCache values");
  if (length_ + tokens > config_.max_tokens)
    throw std::length_error("KvCache: appending " + std::to_string(tokens) + " tokens to " +
                            std::to_string(length_) + " exceeds the capacity of " +
                            std::to_string(config_.max_tokens));
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t dst = (h * config_.max_tokens + length_ + t) * hd;
      store(k.data() + (t * heads + h) * hd, k_.data() + dst);
      store(v.data() + (t * heads + h) * hd, v_.data() + dst);
    }
  length_ += tokens;
}

const float* KvCache::keys(std::size_t kv_head) const {
  if (kv_head >= config_.n_kv_heads) throw std::out_of_range("KvCache::keys: no such head");
  return k_.data() + kv_head * config_.max_tokens * config_.head_dim;
}

const float* KvCache::values(std::size_t kv_head) const {
  if (kv_head >= config_.n_kv_heads) throw std::out_of_range("KvCache::values: no such head");
  return v_.data() + kv_head * config_.max_tokens * config_.head_dim;
}

}  // namespace xpusim::kernels
