// Compression as graph transforms: quantisation schemes (weights, activations, KV cache) and
// pruning (2:4, unstructured with a sparse format, structured heads/FFN/layers). Each changes the
// bytes, the FLOPs and the unit that runs an op, as real deployments do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "workloads/model.h"
#include "workloads/op.h"

namespace xpusim {

struct QuantScheme {
  std::string name = "bf16";
  DType activations = DType::kBf16;  // and the GEMM arithmetic
  DType weights = DType::kBf16;      // storage
  int64_t group_size = 0;            // weight-only schemes: scale group (0 = per channel)
  double weight_bytes_per_param() const;
};
// bf16 | fp16 | fp8 (e4m3 W8A8) | int8 (W8A8) | w8a16 | w4a16 (group 128)
std::optional<QuantScheme> parse_quant(const std::string& name);
const std::vector<std::string>& quant_scheme_names();

// KV-cache storage: bf16 | fp16 | int8 | fp8
std::optional<DType> parse_kv_quant(const std::string& name);

struct PruneScheme {
  enum class Kind { kNone, k24, kUnstructured, kHeads, kFfn, kLayers };
  Kind kind = Kind::kNone;
  double value = 0;  // unstructured: density kept; heads/ffn/layers: fraction removed
  WeightFormat format = WeightFormat::kDense;  // unstructured: dense (no savings), csr or bitmap
  std::string text = "none";
};
// none | 2:4 | unstructured:D[:dense|csr|bitmap] | heads:F | ffn:F | layers:F; nullopt and
// *why set when malformed.
std::optional<PruneScheme> parse_prune(const std::string& text, std::string* why);

// Bytes per original parameter of a linear layer under a quantisation and pruning scheme
// (values, scales and sparse-format metadata).
double linear_bytes_per_param(const QuantScheme& q, const PruneScheme& p);

// Structured pruning gives a smaller model (fewer heads, a narrower FFN, fewer layers).
ModelConfig apply_structured_pruning(const ModelConfig& m, const PruneScheme& p);

// Quantisation and unstructured/2:4 pruning of the linear layers of a graph. The LM head, the
// MoE router and attention's batched matmuls keep the baseline format, as deployments do.
void apply_compression(std::vector<Op>& ops, const QuantScheme& q, const PruneScheme& p);

}  // namespace xpusim
