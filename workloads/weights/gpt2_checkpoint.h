// Loads a GPT-2 checkpoint (Hugging Face layout: config.json + safetensors) into fp32 tensors.
// GPT-2 stores its projections as Conv1D weights [in, out]; they are transposed here to the
// [out_features, in_features] layout of LlamaWeights, so every kernel computes y = x W^T + b.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/weights/checkpoint.h"
#include "workloads/weights/hf_config.h"

namespace xpusim::weights {

struct Gpt2LayerWeights {
  Tensor ln_1_weight, ln_1_bias;  // [hidden]
  Tensor attn_qkv_weight;         // [3 * hidden, hidden]: rows q, then k, then v
  Tensor attn_qkv_bias;           // [3 * hidden]
  Tensor attn_proj_weight;        // [hidden, hidden]
  Tensor attn_proj_bias;          // [hidden]
  Tensor ln_2_weight, ln_2_bias;  // [hidden]
  Tensor mlp_fc_weight;           // [intermediate, hidden]
  Tensor mlp_fc_bias;             // [intermediate]
  Tensor mlp_proj_weight;         // [hidden, intermediate]
  Tensor mlp_proj_bias;           // [hidden]
};

struct Gpt2Weights {
  HfModelConfig config;
  Tensor wte;  // [vocab, hidden] token embeddings
  Tensor wpe;  // [max_position_embeddings, hidden] learned position embeddings
  std::vector<Gpt2LayerWeights> layers;
  Tensor ln_f_weight, ln_f_bias;  // [hidden]
  Tensor lm_head;                 // [vocab, hidden]; empty when config.tie_word_embeddings
  const Tensor& output_weight() const { return config.tie_word_embeddings ? wte : lm_head; }
};

// The tensors a GPT-2 checkpoint must hold, with their on-disk shapes (Conv1D: [in, out]).
// `prefix` is "transformer." (GPT2LMHeadModel) or "" (GPT2Model, as in the original gpt2 files).
std::vector<TensorSpec> gpt2_tensor_specs(const HfModelConfig& config, const std::string& prefix);

// Accepts names with or without the "transformer." prefix; extra tensors (the attention-mask
// buffers h.N.attn.bias / masked_bias of old files) are ignored.
Gpt2Weights load_gpt2_checkpoint(const std::string& dir, const LoadOptions& options = {});

}  // namespace xpusim::weights
