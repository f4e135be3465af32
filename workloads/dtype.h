// Number formats that operators are stored and computed in, with their storage size in bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xpusim {

enum class DType { kFp32, kTf32, kBf16, kFp16, kFp8, kInt8, kInt4 };

std::string_view dtype_name(DType d);
std::optional<DType> parse_dtype(std::string_view s);
const std::vector<std::string>& dtype_names();
double dtype_bytes(DType d);  // tf32 is stored as fp32; int4 is half a byte

}  // namespace xpusim
