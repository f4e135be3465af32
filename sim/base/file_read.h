// Bounded, strict reading of user files: only regular files (a directory, FIFO or device is an
// error, never a hang), never beyond a stated size, and text checked for valid UTF-8 where it was
// read. Every problem is a ConfigError naming the file (and line:col for bad text).
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

namespace xpusim {

// Size limits of the readers (README, "Limits").
inline constexpr std::uint64_t kMaxConfigFileBytes = 16ull << 20;  // YAML configuration
inline constexpr std::uint64_t kMaxTableFileBytes = 256ull << 20;  // CSV tables and datasets
inline constexpr std::uint64_t kMaxTextFileBytes = 256ull << 20;   // text corpora

// The whole content of `path`. `key` names the option or key that named the file (for the error).
// Throws ConfigError: not found or unreadable, not a regular file, larger than `max_bytes`.
std::string read_file_bounded(const std::string& path, std::string_view key,
                              std::uint64_t max_bytes);
// At most `max_bytes` from a stream (standard input); more is an error naming `name`.
std::string read_stream_bounded(std::istream& in, const std::string& name, std::string_view key,
                                std::uint64_t max_bytes);
// Throws ConfigError at the line and column of the first byte that is not valid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF included).
void check_utf8(std::string_view text, const std::string& file, std::string_view key);

}  // namespace xpusim
