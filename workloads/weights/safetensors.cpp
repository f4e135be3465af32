// Validation of safetensors framing and header, and lazy access to the tensors. The checks
// follow the reference implementation: bounded header, known dtypes, shape * dtype size ==
// byte length (overflow-checked), and tensors that tile the data section with no overlap, gap
// or trailing bytes (so that no byte of the file is unaccounted for).
#include "workloads/weights/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "workloads/weights/untrusted_json.h"
#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

constexpr int kHeaderMaxDepth = 3;  // root object -> tensor object -> shape array

// a * b, or false when it does not fit in 64 bits.
bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out);
}

// A non-negative JSON integer, or an error message saying what it is instead.
bool read_uint(const nlohmann::json& v, std::uint64_t& out, std::string& why) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    why = fmt::format("{} is negative", v.get<std::int64_t>());
    return false;
  }
  if (v.is_number_float()) {
    why = "is not an integer (or too large for 64 bits)";
    return false;
  }
  why = "is " + json_kind(v) + ", expected a non-negative integer";
  return false;
}

// Validates one header entry into `info`; returns false (with issues added) when it is bad.
bool parse_tensor_entry(const std::string& file, const std::string& name, const nlohmann::json& v,
                        std::uint64_t data_size, IssueCollector& issues, TensorInfo& info) {
  const std::string what = "tensor " + quote_name(name);
  auto bad = [&](const std::string& msg) {
    issues.add(file, "", what + ": " + msg);
    return false;
  };
  if (!v.is_object()) return bad("header entry is " + json_kind(v) + ", expected an object");
  for (const auto& [key, unused] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      return bad("unknown header field " + quote_name(key) +
                 " (expected 'dtype', 'shape' and 'data_offsets')");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) return bad(fmt::format("header field '{}' is missing", key));

  const auto& dtype = v["dtype"];
  if (!dtype.is_string()) return bad("'dtype' is " + json_kind(dtype) + ", expected a string");
  const auto parsed_dtype = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!parsed_dtype)
    return bad(fmt::format("unknown or unsupported dtype {} (supported: {})",
                           quote_name(dtype.get_ref<const std::string&>()),
                           supported_dtype_names()));
  info.name = name;
  info.dtype = *parsed_dtype;

  const auto& shape = v["shape"];
  if (!shape.is_array()) return bad("'shape' is " + json_kind(shape) + ", expected an array");
  std::uint64_t elements = 1;
  bool elements_overflow = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::uint64_t dim = 0;
    std::string why;
    if (!read_uint(shape[i], dim, why)) return bad(fmt::format("shape[{}] {}", i, why));
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return bad(fmt::format("shape[{}] = {} is too large", i, dim));
    info.shape.push_back(static_cast<std::int64_t>(dim));
    if (!checked_mul(elements, dim, elements)) elements_overflow = true;
  }
  std::uint64_t nbytes = 0;
  // A zero dimension makes the product 0 whatever overflowed before it.
  const bool has_zero = std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end();
  if (has_zero) {
    elements = 0;
    elements_overflow = false;
  }
  if (elements_overflow || !checked_mul(elements, dtype_size(info.dtype), nbytes) ||
      elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return bad(fmt::format("shape {} has more elements than 64-bit sizes can hold",
                           shape_str(info.shape)));

  const auto& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    return bad("'data_offsets' must be an array of two integers [begin, end]");
  std::string why;
  if (!read_uint(offsets[0], info.begin, why)) return bad("data_offsets[0] " + why);
  if (!read_uint(offsets[1], info.end, why)) return bad("data_offsets[1] " + why);
  if (info.begin > info.end)
    return bad(fmt::format("data_offsets [{}, {}] has begin after end", info.begin, info.end));
  if (info.end > data_size)
    return bad(fmt::format("data_offsets [{}, {}] run past the end of the data section ({} bytes)",
                           info.begin, info.end, data_size));
  if (info.end - info.begin != nbytes)
    return bad(fmt::format("shape {} of {} needs {} bytes, but data_offsets [{}, {}] hold {}",
                           shape_str(info.shape), dtype_name(info.dtype), nbytes, info.begin,
                           info.end, info.end - info.begin));
  return true;
}

}  // namespace

std::int64_t TensorInfo::num_elements() const {
  // Fits: checked when the header was read. A zero anywhere makes the product 0 even when the
  // other dimensions alone would overflow, so look for it first.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f(path, FileBytes::map(path));
  f.parse();
  return f;
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<std::uint8_t> bytes,
                                            std::string display_name) {
  SafetensorsFile f(std::move(display_name), FileBytes::hold(std::move(bytes)));
  f.parse();
  return f;
}

void SafetensorsFile::parse() {
  const auto bytes = bytes_.bytes();
  const std::uint64_t file_size = bytes.size();
  if (file_size < 8)
    throw WeightsError(path_, fmt::format("file is {} bytes, too short for the 8-byte header "
                                          "length of a safetensors file (truncated?)",
                                          file_size));
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);  // little-endian (asserted in tensor_dtype.cpp)
  if (header_len == 0) throw WeightsError(path_, "at byte 0: header length is 0");
  if (header_len > kMaxHeaderBytes)
    throw WeightsError(path_, fmt::format("at byte 0: header length {} bytes exceeds the limit of "
                                          "{} bytes (corrupt file, or not safetensors?)",
                                          header_len, kMaxHeaderBytes));
  if (header_len > file_size - 8)
    throw WeightsError(path_, fmt::format("at byte 0: header length {} bytes runs past the end of "
                                          "the file ({} bytes; truncated?)",
                                          header_len, file_size));
  data_offset_ = 8 + header_len;
  const std::uint64_t data_size = file_size - data_offset_;
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8, header_len);
  if (header.front() != '{')
    throw WeightsError(path_, "at byte 8: the JSON header does not start with '{'");

  const auto root = parse_untrusted_json(
      header, path_, {kHeaderMaxDepth, JsonErrorPosition::kFileOffset, /*offset_in_file=*/8});
  if (!root.is_object())
    throw WeightsError(path_, "the header is " + json_kind(root) + ", expected a JSON object");

  IssueCollector issues;
  std::vector<const TensorInfo*> by_offset;
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) {
        issues.add(path_, "", "'__metadata__' is " + json_kind(value) + ", expected an object");
        continue;
      }
      for (const auto& [k, v] : value.items()) {
        if (v.is_string())
          metadata_[k] = v.get<std::string>();
        else
          issues.add(path_, "",
                     "'__metadata__' value " + quote_name(k) + " is " + json_kind(v) +
                         ", expected a string");
      }
      continue;
    }
    TensorInfo info;
    if (!parse_tensor_entry(path_, name, value, data_size, issues, info)) continue;
    auto [it, inserted] = tensors_.emplace(name, std::move(info));
    (void)inserted;  // duplicates were rejected while parsing the JSON
    by_offset.push_back(&it->second);
  }
  issues.throw_if_any();

  // Tensors must tile the data section: sorted by offset, each starts where the last ended.
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  std::uint64_t covered = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < covered)
      issues.add(path_, "",
                 fmt::format("tensors {} [{}, {}) and {} [{}, {}) overlap in the data section",
                             quote_name(prev->name), prev->begin, prev->end, quote_name(t->name),
                             t->begin, t->end));
    else if (t->begin > covered)
      issues.add(
          path_, "",
          fmt::format("data section bytes [{}, {}) (file bytes [{}, {})) belong to no tensor",
                      covered, t->begin, data_offset_ + covered, data_offset_ + t->begin));
    if (t->end >= covered) {
      covered = t->end;
      prev = t;
    }
  }
  if (issues.empty() && covered != data_size)
    issues.add(
        path_, "",
        fmt::format("{} bytes after the last tensor (file bytes [{}, {})) belong to no tensor",
                    data_size - covered, data_offset_ + covered, file_size));
  issues.throw_if_any();
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

const TensorInfo& SafetensorsFile::info(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw WeightsError(path_, "no tensor named " + quote_name(name));
  return it->second;
}

std::span<const std::uint8_t> SafetensorsFile::raw_bytes(std::string_view name) const {
  const TensorInfo& t = info(name);
  return bytes_.bytes().subspan(data_offset_ + t.begin, t.end - t.begin);
}

std::vector<float> SafetensorsFile::to_float(std::string_view name) const {
  const TensorInfo& t = info(name);
  std::vector<float> out(static_cast<std::size_t>(t.num_elements()));
  decode_to_float(t.dtype, raw_bytes(name), out);
  return out;
}

}  // namespace xpusim::weights
