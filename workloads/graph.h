// Builds the kernel-level operator list of one forward pass on one device: a prefill of
// batch × prompt tokens, or one decode step of batch sequences at a given context, with
// tensor-, pipeline- and expert-parallel sharding (collectives are ops in the graph).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/model.h"
#include "workloads/op.h"

namespace xpusim {

struct ForwardShape {
  int64_t batch = 1;
  int64_t q_len = 1;   // new tokens per sequence (prompt for prefill, 1 for decode)
  int64_t kv_len = 1;  // keys each sequence attends over after this pass (= context)
  bool prefill = true;
  DType dtype = DType::kBf16;     // activations (and weights before compression)
  DType kv_dtype = DType::kBf16;  // KV-cache storage
  bool fused_attention = true;    // flash-style; false: Q·Kᵀ, softmax, P·V as separate kernels
  int tp = 1;                     // tensor-parallel degree (Megatron column/row splits)
  int pp = 1;                     // pipeline stages (ops are tagged with their stage)
  int ep = 1;                     // expert-parallel degree for MoE (1 or tp)
};

// Checks that the model can be split as asked; returns "" or the reason it cannot.
std::string check_parallelism(const ModelConfig& m, const ForwardShape& s);

// The ops one device runs. Layer ops carry repeat = layers in their stage; embedding, final norm
// and LM head carry repeat = 1 (first and last stage). Prefill computes logits for the last token
// of each sequence only, as serving stacks do.
std::vector<Op> build_forward(const ModelConfig& m, const ForwardShape& s);

// Per-device memory: weights, KV cache at `context`, and the peak activation working set.
struct MemoryNeed {
  double weights = 0, kv_cache = 0, activations = 0;
  double total() const { return weights + kv_cache + activations; }
};
// linear_bytes: bytes per parameter of the linear layers (after quantisation and pruning); the
// embedding table and LM head stay in the activation format.
MemoryNeed memory_need(const ModelConfig& m, const ForwardShape& s, int64_t context,
                       double linear_bytes);

double kv_cache_bytes(const ModelConfig& m, int64_t batch, int64_t context, DType dtype);

}  // namespace xpusim
