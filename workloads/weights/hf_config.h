// Reader of a Hugging Face config.json for the architectures whose weights xpusim loads:
// LLaMA-style decoders (model_type "llama" or "mistral") and GPT-2 ("gpt2"). Sizes are element
// counts; norm_eps and rope_theta are unitless. Keys that describe neither the weights' shapes
// nor the forward pass (architectures, token ids, transformers_version, ...) are not read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xpusim::weights {

enum class HfFamily { kLlama, kGpt2 };

struct HfModelConfig {
  std::string file;        // the config.json it came from, for messages
  std::string model_type;  // "llama", "mistral" or "gpt2", as written in the file
  HfFamily family = HfFamily::kLlama;

  std::int64_t hidden_size = 0;          // GPT-2: n_embd
  std::int64_t intermediate_size = 0;    // GPT-2: n_inner, or 4 * n_embd when null
  std::int64_t num_hidden_layers = 0;    // GPT-2: n_layer
  std::int64_t num_attention_heads = 0;  // GPT-2: n_head
  std::int64_t num_key_value_heads = 0;  // grouped-query attention; GPT-2: n_head
  std::int64_t head_dim = 0;             // "head_dim", else hidden_size / num_attention_heads
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;  // GPT-2: n_positions (rows of wpe)

  double norm_eps = 0.0;    // rms_norm_eps (LLaMA) or layer_norm_epsilon (GPT-2)
  double rope_theta = 0.0;  // rotary base (LLaMA); 0 for GPT-2's learned positions
  // rope_type of rope_scaling / rope_parameters ("llama3", "linear", "yarn", ...); "" when the
  // rotation is unscaled (null, absent, or rope_type "default")
  std::string rope_scaling_type;
  std::int64_t sliding_window = 0;  // Mistral's attention window; 0 = full causal attention

  bool tie_word_embeddings = false;  // lm_head shares embed_tokens (wte)
  std::string hidden_act;            // "silu" (LLaMA), activation_function "gelu_new" (GPT-2)
  bool attention_bias = false;       // biases on q/k/v/o (always true for GPT-2)
  bool mlp_bias = false;             // biases in the MLP (always true for GPT-2)
  std::string torch_dtype;           // "torch_dtype" (or transformers 5's "dtype"), "" if absent
};

// Limits that keep an untrusted config from asking for absurd sizes.
inline constexpr std::int64_t kMaxConfigDim = (std::int64_t{1} << 31) - 1;
inline constexpr std::int64_t kMaxConfigLayers = 65536;
inline constexpr std::uint64_t kMaxConfigFileBytes = 16 * 1024 * 1024;

// Reads and validates `path`; throws WeightsError listing every missing, mistyped or
// inconsistent key with the file name.
HfModelConfig read_hf_config(const std::string& path);
// The same from text; `file` names it in messages.
HfModelConfig parse_hf_config(std::string_view json_text, const std::string& file);

}  // namespace xpusim::weights
