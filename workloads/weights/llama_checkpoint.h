// Loads a LLaMA-architecture checkpoint (Hugging Face layout: config.json + safetensors) into
// fp32 tensors per layer. Linear weights keep transformers' [out_features, in_features] layout,
// so y = x W^T; norms are [hidden_size] vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/weights/checkpoint.h"
#include "workloads/weights/hf_config.h"

namespace xpusim::weights {

struct LlamaLayerWeights {
  Tensor input_layernorm;           // [hidden]
  Tensor q_proj;                    // [heads * head_dim, hidden]
  Tensor k_proj;                    // [kv_heads * head_dim, hidden]
  Tensor v_proj;                    // [kv_heads * head_dim, hidden]
  Tensor o_proj;                    // [hidden, heads * head_dim]
  Tensor post_attention_layernorm;  // [hidden]
  Tensor gate_proj;                 // [intermediate, hidden]
  Tensor up_proj;                   // [intermediate, hidden]
  Tensor down_proj;                 // [hidden, intermediate]
};

struct LlamaWeights {
  HfModelConfig config;
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;
  Tensor norm;     // [hidden], the final RMSNorm
  Tensor lm_head;  // [vocab, hidden]; empty when config.tie_word_embeddings
  // The output projection: lm_head, or embed_tokens when the embeddings are tied.
  const Tensor& output_weight() const {
    return config.tie_word_embeddings ? embed_tokens : lm_head;
  }
};

// The tensors a LLaMA checkpoint of `config` must hold, with their shapes.
std::vector<TensorSpec> llama_tensor_specs(const HfModelConfig& config);

// `dir` holds config.json and model.safetensors (or shards with model.safetensors.index.json).
// Throws WeightsError listing every config problem, or every missing or mis-shaped tensor.
LlamaWeights load_llama_checkpoint(const std::string& dir, const LoadOptions& options = {});

}  // namespace xpusim::weights
