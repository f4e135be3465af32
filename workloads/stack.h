// Software stacks (issue 15): which kernels a serving or framework stack runs for the parts of a
// layer that stacks implement differently. A stack is a preset (torch-eager, torch-compiled,
// serving, reference) with optional overrides: "torch-eager,attention=flash2".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "workloads/graph.h"
#include "workloads/op.h"

namespace xpusim {

struct SoftwareStack {
  std::string name = "reference";  // the preset it started from
  std::string text = "reference";  // as written (preset and overrides)
  // The attention implementation (`math`: PyTorch's math SDPA, one attention op whose plan is its
  // chain of kernels; `attention: unfused` is the generic bf16 unfused graph).
  AttnImpl attention = AttnImpl::kFlash2;
  EwImpl elementwise = EwImpl::kFused;  // norms, activations and residual adds
  bool fused_residual = false;          // each residual add runs inside the next norm
  StackKernels::Rope rope = StackKernels::Rope::kFused;
  StackKernels::KvWrite kv_write = StackKernels::KvWrite::kFused;
  std::string gemm = "cublas";  // the GEMM library (only cuBLAS's heuristics are modelled)
  // One line for `run` and the reports: "torch-eager (attention cudnn, elementwise eager, ...)".
  std::string describe() const;
  // The kernels a ForwardShape asks the graph for (prefill_writes_kv stays the shape's).
  void apply(ForwardShape& s) const;
};

// Parses "PRESET[,key=value...]" (keys: attention, elementwise, residual, rope, kv_write, gemm).
// nullopt with `why` (allowed values) on a bad preset, key or value.
std::optional<SoftwareStack> parse_stack(const std::string& text, std::string* why);
const std::vector<std::string>& stack_preset_names();

}  // namespace xpusim
