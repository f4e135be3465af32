// Operator lists for the GPT-2, LLaMA, MoE and BERT families (shapes follow the reference
// implementations: fused QKV, fused gate+up for SwiGLU, flash-style fused attention).
#include "workloads/graph.h"

#include <algorithm>
#include <cmath>

namespace xpusim {
namespace {

void add_layer_ops(const ModelConfig& m, const ForwardShape& s, std::vector<Op>& ops) {
  const int64_t T = s.batch * s.q_len;
  const int64_t H = m.hidden, hd = m.head_dim_or_default();
  const int64_t q = m.heads * hd, kv = m.kv_heads_or_heads() * hd;
  const DType dt = s.dtype;
  const std::string norm = m.norm;
  const bool decoder = m.family != "bert";
  auto layer = [&](Op op) {
    op.repeat = m.layers;
    ops.push_back(std::move(op));
  };

  layer(make_elementwise("attn.norm", norm, T, H, dt));
  layer(make_gemm("attn.qkv", T, H, q + 2 * kv, dt));
  if (m.positional == "rope") layer(make_elementwise("attn.rope", "rope", T, q + kv, dt));
  if (decoder) layer(make_elementwise("attn.kv_append", "kv_append", T, 2 * kv, dt));
  layer(make_attention("attn.sdpa", s.batch, m.heads, m.kv_heads_or_heads(), hd, s.q_len, s.kv_len, m.causal, dt));
  layer(make_gemm("attn.out", T, q, H, dt));
  layer(make_elementwise("attn.residual", "residual_add", T, H, dt));
  layer(make_elementwise("mlp.norm", norm, T, H, dt));

  const bool swiglu = m.activation == "swiglu";
  const int64_t up_n = swiglu ? 2 * m.ffn : m.ffn;
  if (m.experts > 0) {
    layer(make_gemm("moe.router", T, H, m.experts, dt));
    // Uniform routing: T·top_k token slots spread over the experts that receive any.
    const int64_t slots = T * m.top_k;
    const int64_t active = std::min<int64_t>(m.experts, slots);
    const int64_t per_expert = (slots + active - 1) / active;
    auto expert = [&](Op op) {
      op.repeat = m.layers * active;
      ops.push_back(std::move(op));
    };
    expert(make_gemm("moe.expert.up", per_expert, H, up_n, dt));
    expert(make_elementwise("moe.expert.act", swiglu ? "silu_mul" : "gelu", per_expert, m.ffn, dt));
    expert(make_gemm("moe.expert.down", per_expert, m.ffn, H, dt));
  } else {
    layer(make_gemm(swiglu ? "mlp.gate_up" : "mlp.up", T, H, up_n, dt));
    layer(make_elementwise("mlp.act", swiglu ? "silu_mul" : "gelu", T, m.ffn, dt));
    layer(make_gemm("mlp.down", T, m.ffn, H, dt));
  }
  layer(make_elementwise("mlp.residual", "residual_add", T, H, dt));
}

}  // namespace

std::vector<Op> build_forward(const ModelConfig& m, const ForwardShape& s) {
  std::vector<Op> ops;
  const int64_t T = s.batch * s.q_len;
  ops.push_back(make_elementwise("embed.tokens", "embedding", T, m.hidden, s.dtype));
  if (m.positional == "learned") {
    ops.push_back(make_elementwise("embed.positions", "embedding", T, m.hidden, s.dtype));
    ops.push_back(make_elementwise("embed.add", "residual_add", T, m.hidden, s.dtype));
  }
  add_layer_ops(m, s, ops);
  if (m.family != "bert") {
    // Logits for the newest token of every sequence only.
    ops.push_back(make_elementwise("final.norm", m.norm, s.batch, m.hidden, s.dtype));
    ops.push_back(make_gemm("lm_head", s.batch, m.hidden, m.vocab, s.dtype));
  }
  return ops;
}

double model_weight_bytes(const ModelConfig& m, DType dtype) { return m.parameter_count() * dtype_bytes(dtype); }

double kv_cache_bytes(const ModelConfig& m, int64_t batch, int64_t context, DType dtype) {
  if (m.family == "bert") return 0;
  return 2.0 * m.layers * batch * context * m.kv_heads_or_heads() * m.head_dim_or_default() * dtype_bytes(dtype);
}

}  // namespace xpusim
