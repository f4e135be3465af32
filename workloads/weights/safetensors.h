// Reader of the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// then the tensors' bytes. The file is untrusted: every length, offset and shape is checked
// before use, and tensors are converted lazily from the read-only memory map.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/weights/file_bytes.h"
#include "workloads/weights/tensor_dtype.h"

namespace xpusim::weights {

struct TensorInfo {
  std::string name;
  TensorDtype dtype = TensorDtype::kF32;
  std::vector<std::int64_t> shape;  // row-major; {} is a scalar
  std::uint64_t begin = 0;          // [begin, end): bytes in the data section
  std::uint64_t end = 0;
  std::int64_t num_elements() const;  // product of the shape (checked not to overflow at load)
};

class SafetensorsFile {
 public:
  // Largest accepted JSON header, as in the reference implementation (100 MB). The parsed
  // header takes a few times this much memory at worst.
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  // Maps `path` and validates the whole header; throws WeightsError naming the file and, for
  // framing errors, the byte offset.
  static SafetensorsFile open(const std::string& path);
  // The same from bytes in memory; `display_name` stands for the file in messages.
  static SafetensorsFile from_bytes(std::vector<std::uint8_t> bytes, std::string display_name);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  std::size_t size() const { return tensors_.size(); }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  const TensorInfo& info(std::string_view name) const;  // WeightsError when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::uint64_t data_offset() const { return data_offset_; }  // 8 + header length

  // The tensor's bytes (little-endian, row-major) inside the mapping; valid while *this lives.
  std::span<const std::uint8_t> raw_bytes(std::string_view name) const;
  // The tensor converted to fp32: exact for F32, F16, BF16, F8_E4M3, F8_E5M2, BOOL and 8/16-bit
  // integers; F64 and 32/64-bit integers round to the nearest float.
  std::vector<float> to_float(std::string_view name) const;

 private:
  SafetensorsFile(std::string path, FileBytes bytes)
      : path_(std::move(path)), bytes_(std::move(bytes)) {}
  void parse();

  std::string path_;
  FileBytes bytes_;
  std::uint64_t data_offset_ = 0;
  std::map<std::string, TensorInfo, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace xpusim::weights
