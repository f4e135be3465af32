// The compute unit that runs an operator, as a type the device models branch on. Its display
// name ("tensor_core", "tensor_core(2:4)", "amx(int4->bf16)") is for tables, CSV and JSON only.
#pragma once

#include <string>
#include <string_view>

namespace xpusim {

enum class ComputeUnit { kNone, kTensorCore, kCudaCore, kMxu, kVpu, kAmx, kSimd, kVector, kLink };
std::string_view compute_unit_name(ComputeUnit u);  // "tensor_core", "cuda_core", ...; "" for kNone

// How an op uses its unit: in its own format; with int4 weights expanded and multiplied at the
// bf16 rate (no int4 datapath); 2:4 structured-sparse at twice the dense rate; a sparse format
// (CSR, bitmap) that skips the pruned products on a unit without a matrix path for it; or, on a
// TPU, operands upcast by the vector unit to a wider format the array has (fp8 to bf16, int4 to
// int8), the conversion counted.
// On a CPU without a bf16 datapath, bf16 operands widened to fp32 (a library's fallback).
enum class UnitPath {
  kNative,
  kInt4AsBf16,
  kSparse24,
  kSparseFormat,
  kFp8AsBf16,
  kInt4AsInt8,
  kBf16AsFp32
};

struct UnitUse {
  ComputeUnit unit = ComputeUnit::kNone;
  UnitPath path = UnitPath::kNative;
  std::string label() const;  // compute_unit_name plus "(int4->bf16)", "(2:4)" or "(sparse)"
  bool operator==(const UnitUse&) const = default;
};

}  // namespace xpusim
