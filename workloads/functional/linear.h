// A linear layer y = x·Wᵀ prepared for one numerics scheme: the weight is pruned (2:4 or
// unstructured magnitude pruning) and quantised once, and every call runs the datapath's kernel.
// Tensors are row-major fp32 at the interface; W is [out, in] as in transformers.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "workloads/kernels/gemm.h"
#include "workloads/kernels/sparse.h"

namespace xpusim::functional {

struct LinearScheme {
  kernels::Datapath datapath = kernels::kDatapathFp32;
  // Formats the hardware has no unit for are emulated as the workload would run them: the
  // weights are quantised and dequantised back to the datapath's input format.
  enum class WeightEmulation {
    kNone,
    kFp8Dequant,
    kInt8Dequant
  } emulation = WeightEmulation::kNone;
  enum class Prune { kNone, k24, kUnstructured } prune = Prune::kNone;
  double density = 1.0;  // kUnstructured: fraction of weights kept (largest magnitudes)
};

class Linear {
 public:
  Linear(std::span<const float> w, std::size_t out_features, std::size_t in_features,
         const LinearScheme& s);
  // x: [m, in], y: [m, out]
  void apply(std::span<const float> x, std::span<float> y, std::size_t m,
             const kernels::KernelOptions& opt) const;
  std::size_t out_features() const { return n_; }
  std::size_t in_features() const { return k_; }

 private:
  std::size_t n_, k_;
  LinearScheme s_;
  // Dense weights: a copy only when the scheme changed them (emulation), else a view of the
  // caller's, which must outlive the Linear (LlamaForward keeps its LlamaWeights).
  std::vector<float> w_;
  std::span<const float> view_;
  std::optional<kernels::Sparse24Matrix> s24_;  // 2:4 pruned
  std::optional<kernels::CsrMatrix> csr_;       // unstructured pruned
  std::optional<numerics::PackedInt4> int4_;    // W4A16
};

}  // namespace xpusim::functional
