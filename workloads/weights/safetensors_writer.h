// Writer of safetensors files in the reference implementation's layout: header padded with
// spaces to a multiple of 8 bytes, tensors back to back with wider dtypes first (so each starts
// aligned to its element size). Used by tests and by tooling that exports weights.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "workloads/weights/tensor_dtype.h"

namespace xpusim::weights {

struct TensorToWrite {
  std::string name;
  TensorDtype dtype = TensorDtype::kF32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // little-endian, row-major: product(shape) * dtype_size
};

// Encodes fp32 `values` as a floating-point `dtype` (see encode_from_float for the rounding);
// values.size() must equal the product of `shape` (std::invalid_argument otherwise).
TensorToWrite make_tensor(std::string name, TensorDtype dtype, std::vector<std::int64_t> shape,
                          std::span<const float> values);

// The whole file as bytes. std::invalid_argument for a duplicate or reserved name, a negative
// dimension or a byte count that does not match the shape.
std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<TensorToWrite>& tensors,
    const std::map<std::string, std::string>& metadata = {});

// Writes serialize_safetensors(...) to `path`; WeightsError when the file cannot be written.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace xpusim::weights
