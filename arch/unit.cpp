// Display names of the compute units and of the paths an op takes through them.
#include "arch/unit.h"

namespace xpusim {

std::string_view compute_unit_name(ComputeUnit u) {
  switch (u) {
    case ComputeUnit::kNone:
      return "";
    case ComputeUnit::kTensorCore:
      return "tensor_core";
    case ComputeUnit::kCudaCore:
      return "cuda_core";
    case ComputeUnit::kMxu:
      return "mxu";
    case ComputeUnit::kVpu:
      return "vpu";
    case ComputeUnit::kAmx:
      return "amx";
    case ComputeUnit::kSimd:
      return "simd";
    case ComputeUnit::kVector:
      return "vector";
    case ComputeUnit::kLink:
      return "link";
  }
  return "?";
}

std::string UnitUse::label() const {
  std::string s(compute_unit_name(unit));
  switch (path) {
    case UnitPath::kNative:
      break;
    case UnitPath::kInt4AsBf16:
      s += "(int4->bf16)";
      break;
    case UnitPath::kSparse24:
      s += "(2:4)";
      break;
    case UnitPath::kSparseFormat:
      s += "(sparse)";
      break;
    case UnitPath::kFp8AsBf16:
      s += "(fp8->bf16)";
      break;
    case UnitPath::kInt4AsInt8:
      s += "(int4->int8)";
      break;
    case UnitPath::kBf16AsFp32:
      s += "(bf16->fp32)";
      break;
  }
  return s;
}

}  // namespace xpusim
