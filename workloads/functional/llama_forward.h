// A functional LLaMA forward pass (Hugging Face semantics: RMSNorm, RoPE with rotate-half,
// grouped-query causal attention with a KV cache, SwiGLU MLP) built from the functional kernels,
// for one numerics scheme. Activations between kernels are fp32; the scheme decides what each
// matrix unit sees (its datapath) and how the KV cache is stored.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "workloads/functional/linear.h"
#include "workloads/kernels/kv_cache.h"
#include "workloads/weights/llama_checkpoint.h"

namespace xpusim::functional {

struct ModelScheme {
  LinearScheme linear;   // attention and MLP projections
  LinearScheme lm_head;  // deployments keep the LM head in 16 bits (or fp32 for the reference)
  kernels::KvFormat kv = kernels::KvFormat::kFp32;
};

class LlamaForward {
 public:
  LlamaForward(const weights::LlamaWeights& w, const ModelScheme& scheme,
               const kernels::KernelOptions& opt = {});
  // Logits [tokens.size(), vocab] of a fresh sequence (positions 0..n-1). Throws
  // std::invalid_argument for a token outside the vocabulary or more tokens than positions.
  std::vector<float> logits(std::span<const int32_t> tokens) const;
  std::size_t vocab() const { return vocab_; }

 private:
  struct Layer {
    std::vector<float> input_norm, post_norm;
    Linear q, k, v, o, gate, up, down;
  };
  const weights::LlamaWeights& w_;
  ModelScheme scheme_;
  kernels::KernelOptions opt_;
  std::vector<Layer> layers_;
  Linear head_;
  std::size_t hidden_, heads_, kv_heads_, head_dim_, ffn_, vocab_;
  float eps_, theta_;
};

// Mean natural-log cross-entropy of predicting bytes [w*seq+1, w*seq+seq+1) from
// [w*seq, w*seq+seq) over the non-overlapping windows that fit in `text` (each window a fresh
// sequence), as validation/numerics/train_tiny_llama.py evaluates the reference model.
double windowed_loss(const LlamaForward& model, std::span<const uint8_t> text, std::size_t seq);

}  // namespace xpusim::functional
