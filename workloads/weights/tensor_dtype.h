// Element types of safetensors tensors, by their names in the file header ("F32", "BF16", ...),
// with element sizes in bytes, and the conversions of little-endian raw elements to and from
// fp32. Sub-byte types (F4, F6_*) and complex types are not supported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace xpusim::weights {

enum class TensorDtype {
  kBool,
  kU8,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kU64,
  kI64,
  kF8E4M3,  // OCP E4M3FN (torch.float8_e4m3fn): no Inf, max 448
  kF8E5M2,
  kF16,
  kBF16,
  kF32,
  kF64,
};

std::optional<TensorDtype> dtype_from_name(std::string_view name);  // "F32" -> kF32
std::string_view dtype_name(TensorDtype dtype);                     // kF32 -> "F32"
std::size_t dtype_size(TensorDtype dtype);                          // bytes per element
bool dtype_is_float(TensorDtype dtype);
std::string supported_dtype_names();  // "BOOL, U8, ..." for messages

// Decodes `raw` (little-endian elements of `dtype`) into `out`; raw.size() must be
// out.size() * dtype_size(dtype) (std::invalid_argument otherwise). Exact for F32, F16, BF16,
// F8_E4M3, F8_E5M2, BOOL (nonzero -> 1) and 8/16-bit integers; F64 and 32/64-bit integers
// round to the nearest float.
void decode_to_float(TensorDtype dtype, std::span<const std::uint8_t> raw, std::span<float> out);

// Encodes fp32 values as `dtype` (floating-point dtypes only; std::invalid_argument otherwise),
// rounding to nearest even with xpusim::numerics' default overflow rules (F8 saturates).
void encode_from_float(TensorDtype dtype, std::span<const float> in, std::span<std::uint8_t> raw);

}  // namespace xpusim::weights
