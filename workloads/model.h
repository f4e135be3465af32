// A transformer model's architecture as read from configs/models/*.yaml (plain struct; the
// schema lives in model.cpp) and the loading entry point.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config_tree.h"
#include "sim/config/schema.h"

namespace xpusim {

struct ModelConfig {
  std::string name, description;
  std::string family;  // gpt2 | gptj | llama | moe | bert
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;  // 0 = heads (multi-head attention)
  int64_t head_dim = 0;  // 0 = hidden / heads
  int64_t ffn = 0;       // intermediate size of the MLP (per expert for MoE)
  int64_t vocab = 0;
  int64_t max_positions = 0;
  std::string norm;        // layernorm | rmsnorm
  std::string activation;  // gelu | relu | swiglu
  std::string positional;  // learned | rope
  bool tied_embeddings = false;
  bool bias = false;            // linear layers carry biases (GPT-2, OPT, BERT)
  bool attention_bias = false;  // the attention projections carry biases (default: bias)
  bool lm_head_bias = false;    // the LM head carries a bias (GPT-J)
  // Attention and MLP read one norm of the same input and add to the residual together
  // (GPT-J, GPT-NeoX): one norm per layer, and under tensor parallelism one all-reduce.
  bool parallel_residual = false;
  int64_t rotary_dim = 0;       // leading dimensions of each head RoPE rotates; 0 = all (GPT-J: 64)
  int64_t experts = 0;          // MoE: experts per layer (0 = dense MLP)
  int64_t top_k = 0;            // MoE: experts per token
  bool causal = true;           // false for encoder-only models
  bool encoder_only = false;    // no KV cache, no LM head, prefill (encode) only; default: bert
  int64_t position_offset = 0;  // extra learned-position rows (OPT keeps 2)
  int64_t type_vocab = 0;       // token-type embeddings (BERT)
  bool pooler = false;          // BERT's pooler layer (counted in parameters, not timed)

  int64_t kv_heads_or_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  int64_t head_dim_or_default() const { return head_dim > 0 ? head_dim : hidden / heads; }
  int64_t rotary_dim_or_default() const {
    return rotary_dim > 0 ? rotary_dim : head_dim_or_default();
  }
  double parameter_count() const;  // including embeddings (tied counted once)
};

const SchemaBase& model_schema();
// Validates a resolved `type: model` tree; throws ConfigError with every problem.
ModelConfig parse_model(const CfgNode& tree);

}  // namespace xpusim
