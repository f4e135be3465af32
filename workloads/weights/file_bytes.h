// Read-only bytes of a file: memory-mapped (large weight files are never copied) or held in a
// vector (in-memory data, tests). Also reads small text files (config.json) with a size limit.
// Note: a mapped file that another process truncates while it is open raises SIGBUS on access;
// weight files are expected to stay unchanged while xpusim reads them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xpusim::weights {

class FileBytes {
 public:
  // Maps `path` read-only; throws WeightsError when it is missing, not a regular file or
  // cannot be mapped.
  static FileBytes map(const std::string& path);
  static FileBytes hold(std::vector<std::uint8_t> bytes);

  FileBytes(FileBytes&& other) noexcept;
  FileBytes& operator=(FileBytes&& other) noexcept;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes();

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

 private:
  FileBytes() = default;
  void release();

  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::uint8_t> held_;
};

// The whole of a (small) text file; throws WeightsError when it cannot be read or is larger
// than `max_bytes`.
std::string read_text_file(const std::string& path, std::uint64_t max_bytes);

}  // namespace xpusim::weights
