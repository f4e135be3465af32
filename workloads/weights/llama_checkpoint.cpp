// Name scheme and shapes of transformers' LlamaForCausalLM / MistralForCausalLM weights, and
// their conversion to fp32. The whole checkpoint is checked against config.json before any
// tensor is converted, so that a wrong checkpoint fails fast and reports everything at once.
#include "workloads/weights/llama_checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

std::string layer_prefix(std::int64_t layer) { return fmt::format("model.layers.{}.", layer); }

void check_supported(const HfModelConfig& c) {
  if (c.family != HfFamily::kLlama)
    throw WeightsError(
        c.file, "model_type",
        fmt::format("'{}' is not a LLaMA-architecture model (expected llama or mistral)",
                    c.model_type));
  // Biases would be further tensors the functional kernels do not apply; refuse rather than
  // silently compute something else.
  if (c.attention_bias) throw WeightsError(c.file, "attention_bias", "true is not supported");
  if (c.mlp_bias) throw WeightsError(c.file, "mlp_bias", "true is not supported");
}

}  // namespace

std::vector<TensorSpec> llama_tensor_specs(const HfModelConfig& c) {
  const std::int64_t h = c.hidden_size;
  const std::int64_t q = c.num_attention_heads * c.head_dim;
  const std::int64_t kv = c.num_key_value_heads * c.head_dim;
  const std::int64_t ff = c.intermediate_size;
  std::vector<TensorSpec> specs{{"model.embed_tokens.weight", {c.vocab_size, h}}};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto p = layer_prefix(l);
    specs.push_back({p + "input_layernorm.weight", {h}});
    specs.push_back({p + "self_attn.q_proj.weight", {q, h}});
    specs.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    specs.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    specs.push_back({p + "self_attn.o_proj.weight", {h, q}});
    specs.push_back({p + "post_attention_layernorm.weight", {h}});
    specs.push_back({p + "mlp.gate_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.up_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.down_proj.weight", {h, ff}});
  }
  specs.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}});
  return specs;
}

LlamaWeights load_llama_checkpoint(const std::string& dir, const LoadOptions& options) {
  LlamaWeights w;
  w.config = read_hf_config((std::filesystem::path(dir) / "config.json").string());
  check_supported(w.config);
  const auto ckpt = SafetensorsCheckpoint::open(dir);
  ckpt.check(llama_tensor_specs(w.config), w.config.file);

  const std::int64_t n_layers = options.max_layers < 0
                                    ? w.config.num_hidden_layers
                                    : std::min(options.max_layers, w.config.num_hidden_layers);
  w.embed_tokens = ckpt.load("model.embed_tokens.weight");
  w.layers.resize(static_cast<std::size_t>(n_layers));
  for (std::int64_t l = 0; l < n_layers; ++l) {
    const auto p = layer_prefix(l);
    auto& L = w.layers[static_cast<std::size_t>(l)];
    L.input_layernorm = ckpt.load(p + "input_layernorm.weight");
    L.q_proj = ckpt.load(p + "self_attn.q_proj.weight");
    L.k_proj = ckpt.load(p + "self_attn.k_proj.weight");
    L.v_proj = ckpt.load(p + "self_attn.v_proj.weight");
    L.o_proj = ckpt.load(p + "self_attn.o_proj.weight");
    L.post_attention_layernorm = ckpt.load(p + "post_attention_layernorm.weight");
    L.gate_proj = ckpt.load(p + "mlp.gate_proj.weight");
    L.up_proj = ckpt.load(p + "mlp.up_proj.weight");
    L.down_proj = ckpt.load(p + "mlp.down_proj.weight");
  }
  w.norm = ckpt.load("model.norm.weight");
  if (!w.config.tie_word_embeddings) w.lm_head = ckpt.load("lm_head.weight");
  return w;
}

}  // namespace xpusim::weights
