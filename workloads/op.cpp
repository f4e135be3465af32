// Operator constructors: FLOPs and minimum bytes per tensor for each kind.
#include "workloads/op.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace xpusim {

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::kGemm: return "gemm";
    case OpKind::kAttention: return "attention";
    case OpKind::kElementwise: return "elementwise";
    case OpKind::kEmbedding: return "embedding";
    case OpKind::kKvAppend: return "kv_append";
    case OpKind::kCollective: return "collective";
  }
  return "?";
}

std::string Op::signature() const {
  return fmt::format("{}|{}|{}|{},{},{}|{}|{},{},{},{},{},{},{}|{}|{},{}|t{}", op_kind_name(kind), dtype_name(dtype),
                     ew_op, M, K, N, sparse_2_4, B, heads, kv_heads, head_dim, q_len, kv_len, causal, flops, T, H,
                     threads);
}

Op make_gemm(std::string name, int64_t M, int64_t K, int64_t N, DType dtype, bool sparse_2_4) {
  Op op;
  op.kind = OpKind::kGemm;
  op.name = std::move(name);
  op.dtype = dtype;
  op.M = M;
  op.K = K;
  op.N = N;
  op.sparse_2_4 = sparse_2_4;
  const double b = dtype_bytes(dtype);
  op.flops = 2.0 * M * K * N;
  // A 2:4 weight stores half the values plus 2 bits of index per kept value.
  op.weight_bytes = sparse_2_4 ? (K * N / 2.0) * b + (K * N / 2.0) * 2.0 / 8.0 : double(K) * N * b;
  // Integer and fp8 GEMMs write a 16-bit result (dequantised in the epilogue), as real kernels do.
  const double out_b = (dtype == DType::kFp32 || dtype == DType::kTf32) ? 4.0 : 2.0;
  op.in_bytes = double(M) * K * (dtype == DType::kInt4 ? 2.0 : b);  // int4 weights take bf16 activations
  op.out_bytes = double(M) * N * out_b;
  return op;
}

Op make_attention(std::string name, int64_t B, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t q_len,
                  int64_t kv_len, bool causal, DType dtype) {
  Op op;
  op.kind = OpKind::kAttention;
  op.name = std::move(name);
  op.dtype = dtype;
  op.B = B;
  op.heads = heads;
  op.kv_heads = kv_heads;
  op.head_dim = head_dim;
  op.q_len = q_len;
  op.kv_len = kv_len;
  op.causal = causal;
  // Query i (of q_len, aligned to the end of the kv_len keys) sees kv_len - q_len + i + 1 keys
  // when causal; all kv_len keys otherwise.
  double pairs = causal ? double(q_len) * double(kv_len - q_len) + double(q_len) * double(q_len + 1) / 2.0
                        : double(q_len) * double(kv_len);
  op.flops = 4.0 * B * heads * head_dim * pairs;  // Q·Kᵀ and P·V, 2 FLOPs per multiply-add
  const double b = dtype_bytes(dtype);
  op.in_bytes = double(B) * head_dim * (heads * q_len + 2.0 * kv_heads * kv_len) * b;
  op.out_bytes = double(B) * heads * q_len * head_dim * b;
  return op;
}

const std::vector<std::string>& elementwise_ops() {
  static const std::vector<std::string> ops = {"rmsnorm", "layernorm", "gelu",      "silu_mul", "softmax",
                                               "residual_add", "rope",  "embedding", "kv_append"};
  return ops;
}

Op make_elementwise(std::string name, std::string ew, int64_t T, int64_t H, DType dtype) {
  const auto& known = elementwise_ops();
  if (std::find(known.begin(), known.end(), ew) == known.end())
    throw std::invalid_argument(fmt::format("unknown elementwise op '{}'", ew));
  Op op;
  op.kind = ew == "embedding" ? OpKind::kEmbedding : ew == "kv_append" ? OpKind::kKvAppend : OpKind::kElementwise;
  op.name = std::move(name);
  op.dtype = dtype;
  op.ew_op = ew;
  op.T = T;
  op.H = H;
  const double b = dtype_bytes(dtype);
  const double n = double(T) * H;
  // FLOPs per element follow the usual counts: a norm needs a reduction, a scale and a weight
  // multiply; tanh-GELU about 8; SiLU·mul about 5 (exp, add, divide, two multiplies).
  double per_elem = 0, reads = 1, weights = 0;
  if (ew == "rmsnorm") { per_elem = 4; weights = H; }
  else if (ew == "layernorm") { per_elem = 7; weights = 2.0 * H; }
  else if (ew == "gelu") { per_elem = 8; }
  else if (ew == "silu_mul") { per_elem = 5; reads = 2; }
  else if (ew == "softmax") { per_elem = 5; }
  else if (ew == "residual_add") { per_elem = 1; reads = 2; }
  else if (ew == "rope") { per_elem = 3; }
  else if (ew == "embedding") { per_elem = 0; reads = 0; weights = n; }  // gathers T rows of the table
  else if (ew == "kv_append") { per_elem = 0; }
  op.flops = per_elem * n;
  op.in_bytes = reads * n * b;
  op.weight_bytes = weights * b;
  op.out_bytes = n * b;
  return op;
}

}  // namespace xpusim
