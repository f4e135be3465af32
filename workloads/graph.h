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

// How a software stack splits the pieces of a layer that stacks implement differently (the rest
// is one kernel each everywhere). Issue 15's stacks select these.
struct StackKernels {
  enum class Rope {
    kFused,
    kTorchRotateHalf
  };                                       // one kernel over q and k | PyTorch's rotate-half
                                           // (mul cos, neg, cat, mul sin, add), for q and k
  enum class KvWrite { kFused, kCopies };  // one append of K and V | one copy kernel each
  Rope rope = Rope::kFused;
  KvWrite kv_write = KvWrite::kFused;
  bool prefill_writes_kv = true;  // false: a prefill that does not fill the cache (a benchmark)
  AttnImpl attention = AttnImpl::kFlash2;  // the fused-attention kernel
  EwImpl elementwise = EwImpl::kFused;     // norms, activations, residual adds
  // Each residual add runs inside the next norm (add + norm in one kernel); the last layer's add
  // stays a kernel of its own before the final norm.
  bool fused_residual = false;
};

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
  // Beam search (decode only): `batch` prompts, each decoding `beams` hypotheses together. The
  // prompt's first `prefix_len` keys and values are held once per prompt and shared by its beams
  // (their queries attend to them together, Saxml's lazy prefix broadcast); each beam keeps its
  // own generated ones. GEMMs, norms and the LM head run on batch x beams rows.
  int64_t beams = 1;
  int64_t prefix_len = 0;
  StackKernels kernels;

  bool beam_decode() const { return beams > 1 && !prefill; }
  int64_t sequences() const { return beam_decode() ? batch * beams : batch; }
};

// Checks that the model can be split as asked; returns "" or the reason it cannot.
std::string check_parallelism(const ModelConfig& m, const ForwardShape& s);

// The ops one device runs. Layer ops carry repeat = layers in their stage; embedding, final norm
// and LM head carry repeat = 1 (first and last stage). Prefill computes logits for the last token
// of each sequence only, as serving stacks do.
std::vector<Op> build_forward(const ModelConfig& m, const ForwardShape& s);
// PyTorch's rotate-half RoPE on a [T, width] tensor, kernel by kernel: x*cos, -x2 (half the
// elements), cat and rot*sin each read and write one tensor's worth (`rope` kernels); the final
// add reads two and is the same torch add kernel as residual_add.
std::vector<Op> torch_rope_kernels(const std::string& name, int64_t T, int64_t width, DType dt);
// A KV-cache write as one copy kernel for K and one for V, each of T rows of `width` (even)
// elements.
std::vector<Op> kv_copy_kernels(const std::string& name, int64_t T, int64_t width, DType kv_dtype);

// The ops of one transformer layer (repeat 1, stage 0), as build_forward builds each layer.
std::vector<Op> build_layer(const ModelConfig& m, const ForwardShape& s);

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
