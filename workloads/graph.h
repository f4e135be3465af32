// Builds the kernel-level operator list of one forward pass of a model: a prefill of
// batch × prompt tokens, or one decode step of batch sequences at a given context.
#pragma once

#include <cstdint>
#include <vector>

#include "workloads/model.h"
#include "workloads/op.h"

namespace xpusim {

struct ForwardShape {
  int64_t batch = 1;
  int64_t q_len = 1;   // new tokens per sequence (prompt for prefill, 1 for decode)
  int64_t kv_len = 1;  // keys each sequence attends over after this pass (= context)
  bool prefill = true;
  DType dtype = DType::kBf16;
};

// Ops of one layer carry repeat = layers; embedding, final norm and LM head carry repeat = 1.
// Prefill computes logits for the last token of each sequence only, as serving stacks do.
std::vector<Op> build_forward(const ModelConfig& m, const ForwardShape& s);

double model_weight_bytes(const ModelConfig& m, DType dtype);
double kv_cache_bytes(const ModelConfig& m, int64_t batch, int64_t context, DType dtype);

}  // namespace xpusim
