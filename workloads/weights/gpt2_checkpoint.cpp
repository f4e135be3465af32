// Name scheme and shapes of transformers' GPT2LMHeadModel weights, and their conversion to
// fp32 with the Conv1D weights transposed to [out, in].
#include "workloads/weights/gpt2_checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

// [rows, cols] -> [cols, rows], row-major.
Tensor transposed(Tensor t) {
  const auto rows = static_cast<std::size_t>(t.shape[0]);
  const auto cols = static_cast<std::size_t>(t.shape[1]);
  Tensor out{{t.shape[1], t.shape[0]}, std::vector<float>(t.data.size())};
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out.data[c * rows + r] = t.data[r * cols + c];
  return out;
}

std::string layer_prefix(const std::string& prefix, std::int64_t layer) {
  return fmt::format("{}h.{}.", prefix, layer);
}

}  // namespace

std::vector<TensorSpec> gpt2_tensor_specs(const HfModelConfig& c, const std::string& prefix) {
  const std::int64_t h = c.hidden_size;
  const std::int64_t ff = c.intermediate_size;
  std::vector<TensorSpec> specs{{prefix + "wte.weight", {c.vocab_size, h}},
                                {prefix + "wpe.weight", {c.max_position_embeddings, h}}};
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto p = layer_prefix(prefix, l);
    specs.push_back({p + "ln_1.weight", {h}});
    specs.push_back({p + "ln_1.bias", {h}});
    specs.push_back({p + "attn.c_attn.weight", {h, 3 * h}});
    specs.push_back({p + "attn.c_attn.bias", {3 * h}});
    specs.push_back({p + "attn.c_proj.weight", {h, h}});
    specs.push_back({p + "attn.c_proj.bias", {h}});
    specs.push_back({p + "ln_2.weight", {h}});
    specs.push_back({p + "ln_2.bias", {h}});
    specs.push_back({p + "mlp.c_fc.weight", {h, ff}});
    specs.push_back({p + "mlp.c_fc.bias", {ff}});
    specs.push_back({p + "mlp.c_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.c_proj.bias", {h}});
  }
  specs.push_back({prefix + "ln_f.weight", {h}});
  specs.push_back({prefix + "ln_f.bias", {h}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}});
  return specs;
}

Gpt2Weights load_gpt2_checkpoint(const std::string& dir, const LoadOptions& options) {
  Gpt2Weights w;
  w.config = read_hf_config((std::filesystem::path(dir) / "config.json").string());
  if (w.config.family != HfFamily::kGpt2)
    throw WeightsError(w.config.file, "model_type",
                       fmt::format("'{}' is not a GPT-2 model", w.config.model_type));
  const auto ckpt = SafetensorsCheckpoint::open(dir);
  // GPT2LMHeadModel saves "transformer.h.0..."; GPT2Model (and the original gpt2 upload) "h.0...".
  const std::string prefix = ckpt.contains("transformer.wte.weight") ? "transformer." : "";
  ckpt.check(gpt2_tensor_specs(w.config, prefix), w.config.file);

  const std::int64_t n_layers = options.max_layers < 0
                                    ? w.config.num_hidden_layers
                                    : std::min(options.max_layers, w.config.num_hidden_layers);
  w.wte = ckpt.load(prefix + "wte.weight");
  w.wpe = ckpt.load(prefix + "wpe.weight");
  w.layers.resize(static_cast<std::size_t>(n_layers));
  for (std::int64_t l = 0; l < n_layers; ++l) {
    const auto p = layer_prefix(prefix, l);
    auto& L = w.layers[static_cast<std::size_t>(l)];
    L.ln_1_weight = ckpt.load(p + "ln_1.weight");
    L.ln_1_bias = ckpt.load(p + "ln_1.bias");
    L.attn_qkv_weight = transposed(ckpt.load(p + "attn.c_attn.weight"));
    L.attn_qkv_bias = ckpt.load(p + "attn.c_attn.bias");
    L.attn_proj_weight = transposed(ckpt.load(p + "attn.c_proj.weight"));
    L.attn_proj_bias = ckpt.load(p + "attn.c_proj.bias");
    L.ln_2_weight = ckpt.load(p + "ln_2.weight");
    L.ln_2_bias = ckpt.load(p + "ln_2.bias");
    L.mlp_fc_weight = transposed(ckpt.load(p + "mlp.c_fc.weight"));
    L.mlp_fc_bias = ckpt.load(p + "mlp.c_fc.bias");
    L.mlp_proj_weight = transposed(ckpt.load(p + "mlp.c_proj.weight"));
    L.mlp_proj_bias = ckpt.load(p + "mlp.c_proj.bias");
  }
  w.ln_f_weight = ckpt.load(prefix + "ln_f.weight");
  w.ln_f_bias = ckpt.load(prefix + "ln_f.bias");
  if (!w.config.tie_word_embeddings) w.lm_head = ckpt.load("lm_head.weight");
  return w;
}

}  // namespace xpusim::weights
