// One operator of an inference graph, as a real stack would launch it: shapes, number format,
// floating-point operations and the minimum bytes it must move (each tensor read or written once).
#pragma once

#include <cstdint>
#include <string>

#include "workloads/dtype.h"

namespace xpusim {

enum class OpKind { kGemm, kAttention, kElementwise, kEmbedding, kKvAppend, kCollective };
std::string_view op_kind_name(OpKind k);

struct Op {
  OpKind kind = OpKind::kGemm;
  std::string name;   // "attn.qkv", "mlp.down", "lm_head"
  DType dtype = DType::kBf16;
  int64_t repeat = 1;  // identical instances in one forward pass (one per layer)

  // kGemm: Y[M,N] = X[M,K] * W[N,K]^T
  int64_t M = 0, K = 0, N = 0;
  bool sparse_2_4 = false;
  int threads = 0;  // CPU cores to use; 0 = all

  // kAttention (fused, flash-style)
  int64_t B = 0, heads = 0, kv_heads = 0, head_dim = 0, q_len = 0, kv_len = 0;
  bool causal = false;

  // kElementwise / kEmbedding / kKvAppend: T rows of H elements
  std::string ew_op;  // rmsnorm|layernorm|gelu|silu_mul|softmax|residual_add|rope|embedding|kv_append
  int64_t T = 0, H = 0;

  // Derived by the constructors below.
  double flops = 0;
  double weight_bytes = 0;  // parameters read
  double in_bytes = 0;      // activations (and KV cache) read
  double out_bytes = 0;     // results written
  double total_bytes() const { return weight_bytes + in_bytes + out_bytes; }

  // Everything that determines the op's timing on a device; the op-result cache key.
  std::string signature() const;
};

Op make_gemm(std::string name, int64_t M, int64_t K, int64_t N, DType dtype, bool sparse_2_4 = false);
Op make_attention(std::string name, int64_t B, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t q_len,
                  int64_t kv_len, bool causal, DType dtype);
// op: rmsnorm|layernorm|gelu|silu_mul|softmax|residual_add|rope|embedding|kv_append
Op make_elementwise(std::string name, std::string op, int64_t T, int64_t H, DType dtype);
const std::vector<std::string>& elementwise_ops();

}  // namespace xpusim
