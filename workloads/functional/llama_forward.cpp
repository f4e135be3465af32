// The LLaMA forward pass over the functional kernels.
#include "workloads/functional/llama_forward.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "workloads/kernels/attention.h"
#include "workloads/kernels/elementwise.h"
#include "workloads/kernels/rope.h"

namespace xpusim::functional {
namespace {

std::size_t dim(const weights::Tensor& t, std::size_t i) {
  return static_cast<std::size_t>(t.shape.at(i));
}

Linear make_linear(const weights::Tensor& t, const LinearScheme& s) {
  return Linear(t.data, dim(t, 0), dim(t, 1), s);
}

}  // namespace

LlamaForward::LlamaForward(const weights::LlamaWeights& w, const ModelScheme& scheme,
                           const kernels::KernelOptions& opt)
    : w_(w),
      scheme_(scheme),
      opt_(opt),
      head_(make_linear(w.output_weight(), scheme.lm_head)),
      hidden_(static_cast<std::size_t>(w.config.hidden_size)),
      heads_(static_cast<std::size_t>(w.config.num_attention_heads)),
      kv_heads_(static_cast<std::size_t>(w.config.num_key_value_heads)),
      head_dim_(static_cast<std::size_t>(w.config.head_dim)),
      ffn_(static_cast<std::size_t>(w.config.intermediate_size)),
      vocab_(static_cast<std::size_t>(w.config.vocab_size)),
      eps_(static_cast<float>(w.config.norm_eps)),
      theta_(static_cast<float>(w.config.rope_theta)) {
  for (const auto& l : w.layers) {
    layers_.push_back(
        Layer{l.input_layernorm.data, l.post_attention_layernorm.data,
              make_linear(l.q_proj, scheme.linear), make_linear(l.k_proj, scheme.linear),
              make_linear(l.v_proj, scheme.linear), make_linear(l.o_proj, scheme.linear),
              make_linear(l.gate_proj, scheme.linear), make_linear(l.up_proj, scheme.linear),
              make_linear(l.down_proj, scheme.linear)});
  }
}

std::vector<float> LlamaForward::logits(std::span<const int32_t> tokens) const {
  const std::size_t T = tokens.size();
  if (T == 0) return {};
  if (T > static_cast<std::size_t>(w_.config.max_position_embeddings))
    throw std::invalid_argument("more tokens than the model's positions");
  const std::size_t H = hidden_, q_w = heads_ * head_dim_, kv_w = kv_heads_ * head_dim_;
  std::vector<float> x(T * H), h(T * H), q(T * q_w), k(T * kv_w), v(T * kv_w), att(T * q_w),
      o(T * H);
  std::vector<float> g(T * ffn_), u(T * ffn_), a(T * ffn_), d(T * H);
  for (std::size_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || static_cast<std::size_t>(tokens[t]) >= vocab_)
      throw std::invalid_argument("token id outside the vocabulary");
    std::copy_n(w_.embed_tokens.data.begin() + static_cast<std::ptrdiff_t>(tokens[t] * H), H,
                x.begin() + t * H);
  }
  const kernels::RopeConfig rope{head_dim_, theta_};
  for (const Layer& l : layers_) {
    kernels::rms_norm(x, l.input_norm, h, T, eps_, opt_);
    l.q.apply(h, q, T, opt_);
    l.k.apply(h, k, T, opt_);
    l.v.apply(h, v, T, opt_);
    kernels::apply_rope(q, T, heads_, 0, rope);
    kernels::apply_rope(k, T, kv_heads_, 0, rope);
    kernels::KvCache cache({kv_heads_, head_dim_, T, scheme_.kv});
    cache.append(k, v, T);
    kernels::attention(q, T, cache, att, kernels::AttentionConfig{heads_, 0.0f}, opt_);
    l.o.apply(att, o, T, opt_);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    kernels::rms_norm(x, l.post_norm, h, T, eps_, opt_);
    l.gate.apply(h, g, T, opt_);
    l.up.apply(h, u, T, opt_);
    kernels::swiglu(g, u, a, opt_);
    l.down.apply(a, d, T, opt_);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += d[i];
  }
  kernels::rms_norm(x, w_.norm.data, h, T, eps_, opt_);
  std::vector<float> out(T * vocab_);
  head_.apply(h, out, T, opt_);
  return out;
}

double windowed_loss(const LlamaForward& model, std::span<const uint8_t> text, std::size_t seq) {
  if (seq == 0 || text.size() < seq + 1)
    throw std::invalid_argument("text shorter than one window");
  const std::size_t windows = (text.size() - 1) / seq;
  const std::size_t V = model.vocab();
  double total = 0;
  std::size_t count = 0;
  std::vector<int32_t> tokens(seq);
  for (std::size_t w = 0; w < windows; ++w) {
    for (std::size_t i = 0; i < seq; ++i) tokens[i] = text[w * seq + i];
    const auto logits = model.logits(tokens);
    for (std::size_t i = 0; i < seq; ++i) {
      const float* row = logits.data() + i * V;
      // log-sum-exp in double: the loss must not depend on the scheme's arithmetic.
      double mx = *std::max_element(row, row + V), sum = 0;
      for (std::size_t j = 0; j < V; ++j) sum += std::exp(double(row[j]) - mx);
      total += mx + std::log(sum) - double(row[text[w * seq + i + 1]]);
      ++count;
    }
  }
  return total / double(count);
}

}  // namespace xpusim::functional
