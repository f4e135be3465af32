// Bounded file reading with POSIX calls: open without blocking (a FIFO with no writer must not
// hang), fstat the opened file, then read at most the limit.
#include "sim/base/file_read.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sim/base/errors.h"

namespace xpusim {
namespace {

std::string mib(std::uint64_t bytes) {
  return bytes % (1ull << 20) == 0 ? fmt::format("{} MiB", bytes >> 20)
                                   : fmt::format("{} bytes", bytes);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_file_bounded(const std::string& path, std::string_view key,
                              std::uint64_t max_bytes) {
  const SourceLoc at{path, 0, 0};
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0)
    throw ConfigError(at, std::string(key),
                      fmt::format("cannot open the file: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw ConfigError(at, std::string(key),
                      fmt::format("cannot stat the file: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw ConfigError(at, std::string(key),
                      S_ISDIR(st.st_mode)
                          ? "is a directory, not a file"
                          : "is not a regular file (a FIFO, socket or device cannot be read)");
  if (std::uint64_t(st.st_size) > max_bytes)
    throw ConfigError(at, std::string(key),
                      fmt::format("the file is {} bytes, more than the limit of {}",
                                  std::uint64_t(st.st_size), mib(max_bytes)));
  // Back to blocking reads for a regular file (O_NONBLOCK has no effect on them anyway).
  std::string out;
  out.reserve(std::size_t(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw ConfigError(at, std::string(key),
                        fmt::format("cannot read the file: {}", std::strerror(errno)));
    if (n == 0) break;
    if (out.size() + std::size_t(n) > max_bytes)  // it grew while being read
      throw ConfigError(at, std::string(key),
                        fmt::format("the file is more than the limit of {}", mib(max_bytes)));
    out.append(buf, std::size_t(n));
  }
  return out;
}

std::string read_stream_bounded(std::istream& in, const std::string& name, std::string_view key,
                                std::uint64_t max_bytes) {
  std::string out;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    if (out.size() + std::size_t(in.gcount()) > max_bytes)
      throw ConfigError(SourceLoc{name, 0, 0}, std::string(key),
                        fmt::format("the input is more than the limit of {}", mib(max_bytes)));
    out.append(buf, std::size_t(in.gcount()));
  }
  return out;
}

void check_utf8(std::string_view text, const std::string& file, std::string_view key) {
  int line = 1, col = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok)
      throw ConfigError(SourceLoc{file, line, col}, std::string(key),
                        fmt::format("byte 0x{:02X} is not valid UTF-8 (text must be UTF-8)", c));
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += len;
  }
}

}  // namespace xpusim
