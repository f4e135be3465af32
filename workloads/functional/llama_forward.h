// A functional LLaMA forward pass (Hugging Face semantics: RMSNorm, RoPE with rotate-half,
// grouped-query causal attention with a KV cache, SwiGLU MLP) built from the functional kernels,
// for one numerics scheme. Activations between kernels are fp32; the scheme decides what each
// matrix unit sees (its datapath) and how the KV cache is stored.
#pragma once

#include <cstdint>
#include <functional>
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

// Where a layer-at-a-time evaluation takes its weights from: a checkpoint held in memory, or
// weights made one layer at a time, so that a 7B model's numerics fit in a laptop's memory.
class LlamaWeightSource {
 public:
  virtual ~LlamaWeightSource() = default;
  virtual const weights::HfModelConfig& config() const = 0;
  // The embedding row of `token` (row.size() == hidden).
  virtual void embed(int32_t token, std::span<float> row) const = 0;
  // Layer i, valid until the next call of layer() or output_weight().
  virtual const weights::LlamaLayerWeights& layer(std::size_t i) = 0;
  virtual std::span<const float> final_norm() const = 0;
  // The LM head [vocab, hidden], valid until the next call of layer() or output_weight().
  virtual const weights::Tensor& output_weight() = 0;
};

// A checkpoint already in memory (not copied; it must outlive the source).
class HeldLlamaWeights final : public LlamaWeightSource {
 public:
  explicit HeldLlamaWeights(const weights::LlamaWeights& w) : w_(w) {}
  const weights::HfModelConfig& config() const override { return w_.config; }
  void embed(int32_t token, std::span<float> row) const override;
  const weights::LlamaLayerWeights& layer(std::size_t i) override { return w_.layers.at(i); }
  std::span<const float> final_norm() const override { return w_.norm.data; }
  const weights::Tensor& output_weight() override { return w_.output_weight(); }

 private:
  const weights::LlamaWeights& w_;
};

// Several schemes over the same fresh sequences, layer by layer: each layer's weights are
// fetched once, and each projection is prepared for a scheme just before it is applied to every
// sequence and released after. Memory holds one layer's weights (or the LM head), one prepared
// matrix and each scheme's activations, whatever the depth of the model. The logits of each
// (scheme, sequence) go to `sink` as [tokens, vocab], every sequence of scheme 0 before those of
// scheme 1, and so on. They are bit-identical to LlamaForward::logits of the same scheme.
// `step(scheme, layer)` is called after each layer of each scheme, and with layer = the number
// of layers after each scheme's LM head.
using LogitsSink =
    std::function<void(std::size_t scheme, std::size_t sequence, std::span<const float> logits)>;
void layerwise_logits(LlamaWeightSource& source, std::span<const ModelScheme> schemes,
                      std::span<const std::vector<int32_t>> sequences,
                      const kernels::KernelOptions& opt, const LogitsSink& sink,
                      const std::function<void(std::size_t, std::size_t)>& step = {});

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
  std::size_t vocab_;
};

// Mean natural-log cross-entropy of predicting bytes [w*seq+1, w*seq+seq+1) from
// [w*seq, w*seq+seq) over the non-overlapping windows that fit in `text` (each window a fresh
// sequence), as validation/numerics/train_tiny_llama.py evaluates the reference model.
double windowed_loss(const LlamaForward& model, std::span<const uint8_t> text, std::size_t seq);

}  // namespace xpusim::functional
