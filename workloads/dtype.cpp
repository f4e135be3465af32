// Names and storage sizes of the number formats.
#include "workloads/dtype.h"

#include <array>

namespace xpusim {

namespace {
constexpr std::array<std::pair<DType, std::string_view>, 7> kNames = {{{DType::kFp32, "fp32"},
                                                                       {DType::kTf32, "tf32"},
                                                                       {DType::kBf16, "bf16"},
                                                                       {DType::kFp16, "fp16"},
                                                                       {DType::kFp8, "fp8"},
                                                                       {DType::kInt8, "int8"},
                                                                       {DType::kInt4, "int4"}}};
}

std::string_view dtype_name(DType d) {
  for (const auto& [k, n] : kNames)
    if (k == d) return n;
  return "?";
}

std::optional<DType> parse_dtype(std::string_view s) {
  for (const auto& [k, n] : kNames)
    if (n == s) return k;
  return std::nullopt;
}

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [k, n] : kNames) v.emplace_back(n);
    return v;
  }();
  return names;
}

double dtype_bytes(DType d) {
  switch (d) {
    case DType::kFp32:
    case DType::kTf32:
      return 4;
    case DType::kBf16:
    case DType::kFp16:
      return 2;
    case DType::kFp8:
    case DType::kInt8:
      return 1;
    case DType::kInt4:
      return 0.5;
  }
  return 0;
}

}  // namespace xpusim
