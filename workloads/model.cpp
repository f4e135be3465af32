// The model schema (declared once) and parameter counting.
#include "workloads/model.h"

#include <fmt/format.h>

namespace xpusim {
namespace {

const Schema<ModelConfig>& schema() {
  static const Schema<ModelConfig> s = [] {
    Schema<ModelConfig> s("model", "transformer model architecture (one decoder or encoder stack)");
    s.file_name("name", "", "model name (names its resolved file in the output folder)",
                &ModelConfig::name);
    s.text("description", "", "what this model is, with its published config",
           &ModelConfig::description);
    s.choice("family", kRequired, {"gpt2", "gptj", "llama", "moe", "bert"},
             "architecture family: gpt2 (LayerNorm, GELU, learned positions), gptj (LayerNorm, "
             "GELU, partial RoPE, parallel attention and MLP), llama (RMSNorm, SwiGLU, RoPE, GQA), "
             "moe (llama-style with routed experts), bert (encoder-only)",
             &ModelConfig::family);
    s.integer("layers", kRequired, Range{1, 10000}, "transformer blocks", &ModelConfig::layers);
    s.integer("hidden", kRequired, Range{1, 1 << 20}, "model width (d_model)",
              &ModelConfig::hidden);
    s.integer("heads", kRequired, Range{1, 4096}, "attention (query) heads", &ModelConfig::heads);
    s.integer("kv_heads", "0", Range{0, 4096},
              "key/value heads (grouped-query attention); 0 = heads", &ModelConfig::kv_heads);
    s.integer("head_dim", "0", Range{0, 65536}, "width of one head; 0 = hidden / heads",
              &ModelConfig::head_dim);
    s.integer("ffn", kRequired, Range{1, 1 << 22}, "MLP intermediate size (per expert for MoE)",
              &ModelConfig::ffn);
    s.integer("vocab", kRequired, Range{1, 1 << 24}, "vocabulary size", &ModelConfig::vocab);
    s.integer("max_positions", kRequired, Range{1, 1 << 24}, "longest context the model supports",
              &ModelConfig::max_positions);
    s.choice("norm", kRequired, {"layernorm", "rmsnorm"}, "normalisation layer",
             &ModelConfig::norm);
    s.choice("activation", kRequired, {"gelu", "relu", "swiglu"}, "MLP activation",
             &ModelConfig::activation);
    s.choice("positional", kRequired, {"learned", "rope"}, "position encoding",
             &ModelConfig::positional);
    s.boolean("tied_embeddings", "false", "the LM head shares the token-embedding matrix",
              &ModelConfig::tied_embeddings);
    s.boolean("bias", "false", "linear layers and norms carry bias vectors", &ModelConfig::bias);
    s.boolean("attention_bias", "false",
              "the Q, K, V and output projections carry biases; when not given, the value of bias "
              "(GPT-J: false, its MLP has biases)",
              &ModelConfig::attention_bias);
    s.boolean("lm_head_bias", "false", "the LM head carries a bias vector (GPT-J)",
              &ModelConfig::lm_head_bias);
    s.boolean("parallel_residual", "false",
              "attention and MLP both read one norm of the layer's input and add to the residual "
              "together (GPT-J, GPT-NeoX): one norm per layer, one all-reduce under tensor "
              "parallelism",
              &ModelConfig::parallel_residual);
    s.integer("rotary_dim", "0", Range{0, 65536},
              "leading dimensions of each head that RoPE rotates (GPT-J: 64 of 256); 0 = all",
              &ModelConfig::rotary_dim);
    s.integer("experts", "0", Range{0, 4096}, "routed experts per layer (0 = dense MLP)",
              &ModelConfig::experts);
    s.integer("top_k", "0", Range{0, 4096}, "experts each token is routed to", &ModelConfig::top_k);
    s.boolean("causal", "true", "causal (decoder) attention; false for encoders",
              &ModelConfig::causal);
    s.boolean("encoder_only", "false",
              "an encoder stack: no KV cache and no LM head, a prefill (encode) phase only; when "
              "not given, true for family bert",
              &ModelConfig::encoder_only);
    s.integer("position_offset", "0", Range{0, 1 << 20},
              "extra rows of the learned-position table (OPT: 2)", &ModelConfig::position_offset);
    s.integer("type_vocab", "0", Range{0, 1 << 20}, "token-type embeddings (BERT: 2)",
              &ModelConfig::type_vocab);
    s.boolean("pooler", "false", "a pooler layer (BERT); counted in parameters, not timed",
              &ModelConfig::pooler);
    return s;
  }();
  return s;
}

}  // namespace

const SchemaBase& model_schema() { return schema(); }

ModelConfig parse_model(const CfgNode& tree) {
  ErrorList errors;
  if (const CfgNode* t = tree.find("type"); !t || !t->is_scalar() || t->scalar != "model")
    errors.add(t ? t->loc : tree.loc, "type", "a model file needs `type: model`");
  ModelConfig m = schema().parse(tree, errors);
  errors.throw_if_any();
  if (!tree.find("encoder_only")) m.encoder_only = m.family == "bert";
  if (!tree.find("attention_bias")) m.attention_bias = m.bias;
  auto loc = [&](const char* key) {
    const CfgNode* n = tree.find(key);
    return n ? n->loc : tree.loc;
  };
  if (m.kv_heads > 0 && m.heads % m.kv_heads != 0)
    errors.add(
        loc("kv_heads"), "kv_heads",
        fmt::format("{} query heads cannot be grouped over {} kv heads", m.heads, m.kv_heads));
  if (m.head_dim == 0 && m.hidden % m.heads != 0)
    errors.add(
        loc("heads"), "heads",
        fmt::format("hidden {} is not divisible by {} heads; set head_dim", m.hidden, m.heads));
  if (m.rotary_dim > 0 && m.positional != "rope")
    errors.add(loc("rotary_dim"), "rotary_dim",
               fmt::format("rotary_dim {} needs positional: rope (this model's is {})", m.rotary_dim,
                           m.positional));
  else if (m.rotary_dim > m.head_dim_or_default() || m.rotary_dim % 2 != 0)
    errors.add(loc("rotary_dim"), "rotary_dim",
               fmt::format("rotary_dim {} must be even and at most the head width {}",
                           m.rotary_dim, m.head_dim_or_default()));
  if ((m.family == "moe") != (m.experts > 0))
    errors.add(loc("experts"), "experts",
               "experts > 0 is required for family moe, and only for it");
  if (m.experts > 0 && (m.top_k < 1 || m.top_k > m.experts))
    errors.add(loc("top_k"), "top_k",
               fmt::format("top_k must be between 1 and experts ({})", m.experts));
  errors.throw_if_any();
  return m;
}

double ModelConfig::parameter_count() const {
  const double h = double(hidden), hd = double(head_dim_or_default());
  const double q = double(heads) * hd, kv = double(kv_heads_or_heads()) * hd;
  double attn = h * (q + 2 * kv) + q * h;
  double mlp_one = activation == "swiglu" ? 3.0 * h * ffn : 2.0 * h * ffn;
  double mlp = experts > 0 ? experts * mlp_one + h * experts /* router */ : mlp_one;
  double norms = (norm == "layernorm" ? 2.0 : 1.0) * h * (parallel_residual ? 1 : 2);
  double biases = (attention_bias ? (q + 2 * kv) + h : 0.0) +
                  (bias ? (activation == "swiglu" ? 2.0 * ffn : ffn) + h : 0.0);
  double per_layer = attn + mlp + norms + biases;
  double embed = double(vocab) * h +
                 (positional == "learned" ? double(max_positions + position_offset) * h : 0.0) +
                 double(type_vocab) * h;
  double pool = pooler ? h * h + h : 0.0;
  double head = (tied_embeddings ? 0.0 : double(vocab) * h) + (lm_head_bias ? double(vocab) : 0.0);
  double final_norm = (norm == "layernorm" ? 2.0 : 1.0) * h;
  // BERT's embedding LayerNorm stands where the others have a final norm: the same count.
  return layers * per_layer + embed + head + final_norm + pool;
}

}  // namespace xpusim
