// A key/value cache for one attention layer whose storage format is emulated: values are
// rounded (bf16, fp16) or quantised per token and per KV head (fp8 e4m3, int8; fp32 scale
// amax / max_code) when appended, and kept dequantised in fp32 so attention reads them at
// full speed. Layout [kv_head][position][head_dim]; memory is fp32 whatever the format.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace xpusim::kernels {

enum class KvFormat { kFp32, kBf16, kFp16, kFp8E4M3, kInt8 };

std::string_view kv_format_name(KvFormat f);  // "fp32", "bf16", "fp16", "fp8_e4m3", "int8"

struct KvCacheConfig {
  std::size_t n_kv_heads = 0;
  std::size_t head_dim = 0;
  std::size_t max_tokens = 0;  // capacity in positions
  KvFormat format = KvFormat::kFp32;
};

class KvCache {
 public:
  // Throws std::invalid_argument for a zero dimension or capacity.
  explicit KvCache(const KvCacheConfig& config);

  const KvCacheConfig& config() const { return config_; }
  std::size_t length() const { return length_; }

  // Appends `tokens` positions; k and v are [tokens, n_kv_heads * head_dim] (keys after RoPE).
  // Throws std::invalid_argument on a size mismatch, std::length_error past max_tokens, and
  // std::invalid_argument for non-finite values in the quantised formats.
  void append(std::span<const float> k, std::span<const float> v, std::size_t tokens);
  void clear() { length_ = 0; }

  // Stored (dequantised) rows of one KV head: position p at [p * head_dim], p < length().
  const float* keys(std::size_t kv_head) const;
  const float* values(std::size_t kv_head) const;

 private:
  void store(const float* src, float* dst) const;  // one head vector in the storage format

  KvCacheConfig config_;
  std::size_t length_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace xpusim::kernels
