// The LLaMA forward pass over the functional kernels.
#include "workloads/functional/llama_forward.h"

#include <algorithm>
#include <cmath>
#include <optional>
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

struct Dims {
  std::size_t hidden, heads, kv_heads, head_dim, ffn, vocab;
  float eps, theta;
  explicit Dims(const weights::HfModelConfig& c)
      : hidden(static_cast<std::size_t>(c.hidden_size)),
        heads(static_cast<std::size_t>(c.num_attention_heads)),
        kv_heads(static_cast<std::size_t>(c.num_key_value_heads)),
        head_dim(static_cast<std::size_t>(c.head_dim)),
        ffn(static_cast<std::size_t>(c.intermediate_size)),
        vocab(static_cast<std::size_t>(c.vocab_size)),
        eps(static_cast<float>(c.norm_eps)),
        theta(static_cast<float>(c.rope_theta)) {}
};

enum class Proj { kQ, kK, kV, kO, kGate, kUp, kDown };
// Applies projection p to `in` [m, in_features] into `out` [m, out_features].
using Projector =
    std::function<void(Proj p, std::span<const float> in, std::span<float> out, std::size_t m)>;

// Token embeddings of each sequence: [T, hidden] per sequence.
std::vector<std::vector<float>> embed_all(const LlamaWeightSource& src, const Dims& d,
                                          std::span<const std::vector<int32_t>> seqs) {
  std::vector<std::vector<float>> xs;
  for (const auto& tokens : seqs) {
    if (tokens.size() > static_cast<std::size_t>(src.config().max_position_embeddings))
      throw std::invalid_argument("more tokens than the model's positions");
    std::vector<float> x(tokens.size() * d.hidden);
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      if (tokens[t] < 0 || static_cast<std::size_t>(tokens[t]) >= d.vocab)
        throw std::invalid_argument("token id outside the vocabulary");
      src.embed(tokens[t], std::span<float>(x).subspan(t * d.hidden, d.hidden));
    }
    xs.push_back(std::move(x));
  }
  return xs;
}

// One decoder layer over every sequence's hidden states xs[b] ([T_b, hidden], updated in place).
// Each step runs over all sequences before the next starts, so a projector may prepare each
// matrix once per layer; each projection sees one sequence at a time (m = T_b), as a single
// sequence's forward pass does.
void decoder_layer(const Dims& d, std::span<const float> input_norm,
                   std::span<const float> post_norm, kernels::KvFormat kv,
                   const Projector& project, std::vector<std::vector<float>>& xs,
                   const kernels::KernelOptions& opt) {
  const std::size_t B = xs.size(), H = d.hidden, q_w = d.heads * d.head_dim,
                    kv_w = d.kv_heads * d.head_dim;
  auto T = [&](std::size_t b) { return xs[b].size() / H; };
  std::vector<std::vector<float>> h(B), q(B), k(B), v(B), att(B);
  for (std::size_t b = 0; b < B; ++b) {
    h[b].resize(T(b) * H);
    kernels::rms_norm(xs[b], input_norm, h[b], T(b), d.eps, opt);
  }
  auto run = [&](Proj p, std::vector<std::vector<float>>& in, std::vector<std::vector<float>>& out,
                 std::size_t width) {
    for (std::size_t b = 0; b < B; ++b) {
      out[b].assign(T(b) * width, 0.0f);
      project(p, in[b], out[b], T(b));
    }
  };
  run(Proj::kQ, h, q, q_w);
  run(Proj::kK, h, k, kv_w);
  run(Proj::kV, h, v, kv_w);
  const kernels::RopeConfig rope{d.head_dim, d.theta};
  for (std::size_t b = 0; b < B; ++b) {
    kernels::apply_rope(q[b], T(b), d.heads, 0, rope);
    kernels::apply_rope(k[b], T(b), d.kv_heads, 0, rope);
    kernels::KvCache cache({d.kv_heads, d.head_dim, T(b), kv});
    cache.append(k[b], v[b], T(b));
    att[b].resize(T(b) * q_w);
    kernels::attention(q[b], T(b), cache, att[b], kernels::AttentionConfig{d.heads, 0.0f}, opt);
  }
  q = {}, k = {}, v = {};
  std::vector<std::vector<float>> o(B), g(B), u(B);
  run(Proj::kO, att, o, H);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t i = 0; i < xs[b].size(); ++i) xs[b][i] += o[b][i];
    kernels::rms_norm(xs[b], post_norm, h[b], T(b), d.eps, opt);
  }
  att = {};
  run(Proj::kGate, h, g, d.ffn);
  run(Proj::kUp, h, u, d.ffn);
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<float> a(T(b) * d.ffn);
    kernels::swiglu(g[b], u[b], a, opt);
    g[b] = std::move(a);
    u[b] = {};
  }
  run(Proj::kDown, g, o, H);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < xs[b].size(); ++i) xs[b][i] += o[b][i];
}

// Final norm and LM head of one sequence.
std::vector<float> head_logits(const Dims& d, std::span<const float> norm, const Linear& head,
                               std::span<const float> x, const kernels::KernelOptions& opt) {
  const std::size_t T = x.size() / d.hidden;
  std::vector<float> h(x.size()), out(T * d.vocab);
  kernels::rms_norm(x, norm, h, T, d.eps, opt);
  head.apply(h, out, T, opt);
  return out;
}

const weights::Tensor& projection(const weights::LlamaLayerWeights& l, Proj p) {
  switch (p) {
    case Proj::kQ: return l.q_proj;
    case Proj::kK: return l.k_proj;
    case Proj::kV: return l.v_proj;
    case Proj::kO: return l.o_proj;
    case Proj::kGate: return l.gate_proj;
    case Proj::kUp: return l.up_proj;
    case Proj::kDown: return l.down_proj;
  }
  throw std::logic_error("unknown projection");
}

}  // namespace

void HeldLlamaWeights::embed(int32_t token, std::span<float> row) const {
  const auto H = static_cast<std::size_t>(w_.config.hidden_size);
  std::copy_n(w_.embed_tokens.data.begin() + static_cast<std::ptrdiff_t>(std::size_t(token) * H),
              H, row.begin());
}

void layerwise_logits(LlamaWeightSource& source, std::span<const ModelScheme> schemes,
                      std::span<const std::vector<int32_t>> sequences,
                      const kernels::KernelOptions& opt, const LogitsSink& sink,
                      const std::function<void(std::size_t, std::size_t)>& step) {
  const Dims d(source.config());
  const auto layers = static_cast<std::size_t>(source.config().num_hidden_layers);
  const auto first = embed_all(source, d, sequences);
  std::vector<std::vector<std::vector<float>>> xs(schemes.size(), first);
  for (std::size_t l = 0; l < layers; ++l) {
    const weights::LlamaLayerWeights& w = source.layer(l);
    for (std::size_t s = 0; s < schemes.size(); ++s) {
      // One prepared matrix at a time: the next projection releases the previous one.
      std::optional<Linear> prepared;
      std::optional<Proj> which;
      const Projector project = [&](Proj p, std::span<const float> in, std::span<float> out,
                                    std::size_t m) {
        if (which != p) {
          prepared.reset();
          prepared.emplace(make_linear(projection(w, p), schemes[s].linear));
          which = p;
        }
        prepared->apply(in, out, m, opt);
      };
      decoder_layer(d, w.input_layernorm.data, w.post_attention_layernorm.data, schemes[s].kv,
                    project, xs[s], opt);
      if (step) step(s, l);
    }
  }
  const weights::Tensor& out = source.output_weight();
  for (std::size_t s = 0; s < schemes.size(); ++s) {
    const Linear head = make_linear(out, schemes[s].lm_head);
    for (std::size_t b = 0; b < sequences.size(); ++b)
      sink(s, b, head_logits(d, source.final_norm(), head, xs[s][b], opt));
    xs[s] = {};
    if (step) step(s, layers);
  }
}

LlamaForward::LlamaForward(const weights::LlamaWeights& w, const ModelScheme& scheme,
                           const kernels::KernelOptions& opt)
    : w_(w),
      scheme_(scheme),
      opt_(opt),
      head_(make_linear(w.output_weight(), scheme.lm_head)),
      vocab_(static_cast<std::size_t>(w.config.vocab_size)) {
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
  if (tokens.empty()) return {};
  const Dims d(w_.config);
  const HeldLlamaWeights src(w_);
  const std::vector<int32_t> seq(tokens.begin(), tokens.end());
  auto xs = embed_all(src, d, std::span(&seq, 1));
  for (const Layer& l : layers_) {
    const Projector project = [&](Proj p, std::span<const float> in, std::span<float> out,
                                  std::size_t m) {
      const Linear* lin[] = {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down};
      lin[static_cast<int>(p)]->apply(in, out, m, opt_);
    };
    decoder_layer(d, l.input_norm, l.post_norm, scheme_.kv, project, xs, opt_);
  }
  return head_logits(d, w_.norm.data, head_, xs[0], opt_);
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
