// Serialisation of tensors into the safetensors layout (8-byte length, JSON header, data).
#include "workloads/weights/safetensors_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

std::uint64_t element_count(const std::string& name, const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    if (d < 0)
      throw std::invalid_argument("safetensors writer: tensor '" + name +
                                  "' has a negative dimension");
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
      throw std::invalid_argument("safetensors writer: tensor '" + name + "' is too large");
  }
  return n;
}

}  // namespace

TensorToWrite make_tensor(std::string name, TensorDtype dtype, std::vector<std::int64_t> shape,
                          std::span<const float> values) {
  const std::uint64_t n = element_count(name, shape);
  if (n != values.size())
    throw std::invalid_argument(fmt::format("make_tensor: '{}' has shape {} but {} values", name,
                                            shape_str(shape), values.size()));
  TensorToWrite t{std::move(name), dtype, std::move(shape), {}};
  t.bytes.resize(values.size() * dtype_size(dtype));
  encode_from_float(dtype, values, t.bytes);
  return t;
}

std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata) {
  // Wider elements first, the given order otherwise: with the 8-byte-aligned data section, every
  // tensor then starts at a multiple of its element size.
  std::vector<const TensorToWrite*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    return dtype_size(a->dtype) > dtype_size(b->dtype);
  });
  nlohmann::json header = nlohmann::json::object();
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const TensorToWrite* tp : order) {
    const auto& t = *tp;
    if (t.name == "__metadata__" || !seen.insert(t.name).second)
      throw std::invalid_argument("safetensors writer: duplicate or reserved tensor name '" +
                                  t.name + "'");
    const std::uint64_t expected = element_count(t.name, t.shape) * dtype_size(t.dtype);
    if (expected != t.bytes.size())
      throw std::invalid_argument(
          fmt::format("safetensors writer: tensor '{}' ({}, shape {}) "
                      "needs {} bytes, got {}",
                      t.name, dtype_name(t.dtype), shape_str(t.shape), expected, t.bytes.size()));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  const std::uint64_t header_len = text.size();
  std::vector<std::uint8_t> out(8 + header_len + offset);
  std::memcpy(out.data(), &header_len, 8);  // little-endian host (see tensor_dtype.cpp)
  std::memcpy(out.data() + 8, text.data(), header_len);
  std::size_t at = 8 + header_len;
  for (const TensorToWrite* t : order) {
    if (!t->bytes.empty()) std::memcpy(out.data() + at, t->bytes.data(), t->bytes.size());
    at += t->bytes.size();
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const auto bytes = serialize_safetensors(tensors, metadata);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out)
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw WeightsError(path, "cannot write the file");
}

}  // namespace xpusim::weights
