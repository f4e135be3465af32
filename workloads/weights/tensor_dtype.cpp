// Names and element sizes of the safetensors dtypes that xpusim reads, and their conversion to
// and from fp32 (narrow floats through xpusim::numerics, so the rounding rules live in one place).
#include "workloads/weights/tensor_dtype.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "workloads/numerics/formats.h"

namespace xpusim::weights {
namespace {

struct DtypeEntry {
  TensorDtype dtype;
  std::string_view name;
  std::size_t size;
  bool is_float;
};

constexpr std::array<DtypeEntry, 15> kDtypes{{
    {TensorDtype::kBool, "BOOL", 1, false},
    {TensorDtype::kU8, "U8", 1, false},
    {TensorDtype::kI8, "I8", 1, false},
    {TensorDtype::kU16, "U16", 2, false},
    {TensorDtype::kI16, "I16", 2, false},
    {TensorDtype::kU32, "U32", 4, false},
    {TensorDtype::kI32, "I32", 4, false},
    {TensorDtype::kU64, "U64", 8, false},
    {TensorDtype::kI64, "I64", 8, false},
    {TensorDtype::kF8E4M3, "F8_E4M3", 1, true},
    {TensorDtype::kF8E5M2, "F8_E5M2", 1, true},
    {TensorDtype::kF16, "F16", 2, true},
    {TensorDtype::kBF16, "BF16", 2, true},
    {TensorDtype::kF32, "F32", 4, true},
    {TensorDtype::kF64, "F64", 8, true},
}};

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

// Converts every element with `convert(const uint8_t* element)`; memcpy inside `convert`
// keeps unaligned reads legal (tensor data need not be aligned in the file).
template <class Convert>
void decode_each(std::span<const std::uint8_t> raw, std::size_t size, std::span<float> out,
                 Convert convert) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = convert(raw.data() + i * size);
}

template <class T>
float load_as_float(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return static_cast<float>(v);
}

// 16-bit floats go through the array decoders of xpusim::numerics in blocks (they vectorise).
void decode_16bit(std::span<const std::uint8_t> raw, std::span<float> out, bool bf16) {
  constexpr std::size_t kBlock = 1024;
  std::array<std::uint16_t, kBlock> bits{};
  for (std::size_t i = 0; i < out.size(); i += kBlock) {
    const std::size_t n = std::min(kBlock, out.size() - i);
    std::memcpy(bits.data(), raw.data() + 2 * i, 2 * n);
    const std::span<const std::uint16_t> in(bits.data(), n);
    if (bf16)
      numerics::decode_bf16(in, out.subspan(i, n));
    else
      numerics::decode_fp16(in, out.subspan(i, n));
  }
}

const DtypeEntry& entry(TensorDtype dtype) {
  for (const auto& e : kDtypes)
    if (e.dtype == dtype) return e;
  return kDtypes[0];  // unreachable: every enumerator is in the table
}

}  // namespace

std::optional<TensorDtype> dtype_from_name(std::string_view name) {
  for (const auto& e : kDtypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::string_view dtype_name(TensorDtype dtype) { return entry(dtype).name; }
std::size_t dtype_size(TensorDtype dtype) { return entry(dtype).size; }
bool dtype_is_float(TensorDtype dtype) { return entry(dtype).is_float; }

std::string supported_dtype_names() {
  std::string out;
  for (const auto& e : kDtypes) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

void decode_to_float(TensorDtype dtype, std::span<const std::uint8_t> raw, std::span<float> out) {
  const std::size_t size = dtype_size(dtype);
  if (raw.size() / size != out.size() || raw.size() % size != 0)
    throw std::invalid_argument("decode_to_float: " + std::to_string(raw.size()) + " bytes of " +
                                std::string(dtype_name(dtype)) + " for " +
                                std::to_string(out.size()) + " elements");
  switch (dtype) {
    case TensorDtype::kBool:
      return decode_each(raw, size, out, [](const std::uint8_t* p) { return *p ? 1.0f : 0.0f; });
    case TensorDtype::kU8:
      return decode_each(raw, size, out, load_as_float<std::uint8_t>);
    case TensorDtype::kI8:
      return decode_each(raw, size, out, load_as_float<std::int8_t>);
    case TensorDtype::kU16:
      return decode_each(raw, size, out, load_as_float<std::uint16_t>);
    case TensorDtype::kI16:
      return decode_each(raw, size, out, load_as_float<std::int16_t>);
    case TensorDtype::kU32:
      return decode_each(raw, size, out, load_as_float<std::uint32_t>);
    case TensorDtype::kI32:
      return decode_each(raw, size, out, load_as_float<std::int32_t>);
    case TensorDtype::kU64:
      return decode_each(raw, size, out, load_as_float<std::uint64_t>);
    case TensorDtype::kI64:
      return decode_each(raw, size, out, load_as_float<std::int64_t>);
    case TensorDtype::kF8E4M3:
      return decode_each(raw, size, out,
                         [](const std::uint8_t* p) { return numerics::e4m3_bits_to_float(*p); });
    case TensorDtype::kF8E5M2:
      return decode_each(raw, size, out,
                         [](const std::uint8_t* p) { return numerics::e5m2_bits_to_float(*p); });
    case TensorDtype::kF16:
      return decode_16bit(raw, out, /*bf16=*/false);
    case TensorDtype::kBF16:
      return decode_16bit(raw, out, /*bf16=*/true);
    case TensorDtype::kF32:
      if (!out.empty()) std::memcpy(out.data(), raw.data(), raw.size());
      return;
    case TensorDtype::kF64:
      return decode_each(raw, size, out, load_as_float<double>);
  }
}

void encode_from_float(TensorDtype dtype, std::span<const float> in, std::span<std::uint8_t> raw) {
  const std::size_t size = dtype_size(dtype);
  if (raw.size() / size != in.size() || raw.size() % size != 0)
    throw std::invalid_argument("encode_from_float: " + std::to_string(in.size()) +
                                " elements for " + std::to_string(raw.size()) + " bytes of " +
                                std::string(dtype_name(dtype)));
  if (!dtype_is_float(dtype))
    throw std::invalid_argument("encode_from_float: " + std::string(dtype_name(dtype)) +
                                " is not a floating-point dtype");
  auto store = [&](std::size_t i, auto value) { std::memcpy(raw.data() + i * size, &value, size); };
  for (std::size_t i = 0; i < in.size(); ++i) {
    switch (dtype) {
      case TensorDtype::kF32:
        store(i, in[i]);
        break;
      case TensorDtype::kF64:
        store(i, static_cast<double>(in[i]));
        break;
      case TensorDtype::kF16:
        store(i, numerics::float_to_fp16_bits(in[i]));
        break;
      case TensorDtype::kBF16:
        store(i, numerics::float_to_bf16_bits(in[i]));
        break;
      case TensorDtype::kF8E4M3:
        store(i, numerics::float_to_e4m3_bits(in[i]));
        break;
      case TensorDtype::kF8E5M2:
        store(i, numerics::float_to_e5m2_bits(in[i]));
        break;
      default:
        break;  // rejected above
    }
  }
}

}  // namespace xpusim::weights
