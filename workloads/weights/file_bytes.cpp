// POSIX mmap of weight files, and bounded reads of small text files.
#include "workloads/weights/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

// Closes a file descriptor on every path out of map().
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::uint64_t regular_file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw WeightsError(path, std::string("cannot stat the file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw WeightsError(path, "not a regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

FileBytes FileBytes::map(const std::string& path) {
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0)
    throw WeightsError(path, std::string("cannot open the file: ") + std::strerror(errno));
  const std::uint64_t size = regular_file_size(fd.fd, path);
  FileBytes out;
  if (size == 0) return out;  // mmap of zero bytes is an error; an empty span says it all
  void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (p == MAP_FAILED)
    throw WeightsError(path, std::string("cannot map the file: ") + std::strerror(errno));
  out.data_ = static_cast<const std::uint8_t*>(p);
  out.size_ = static_cast<std::size_t>(size);
  out.mapped_ = true;
  return out;
}

FileBytes FileBytes::hold(std::vector<std::uint8_t> bytes) {
  FileBytes out;
  out.held_ = std::move(bytes);
  out.data_ = out.held_.data();
  out.size_ = out.held_.size();
  return out;
}

FileBytes::FileBytes(FileBytes&& other) noexcept { *this = std::move(other); }

FileBytes& FileBytes::operator=(FileBytes&& other) noexcept {
  if (this == &other) return *this;
  release();
  // A moved vector keeps its buffer, so data_ stays valid for held bytes too.
  held_ = std::move(other.held_);
  data_ = std::exchange(other.data_, nullptr);
  size_ = std::exchange(other.size_, 0);
  mapped_ = std::exchange(other.mapped_, false);
  return *this;
}

FileBytes::~FileBytes() { release(); }

void FileBytes::release() {
  if (mapped_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  held_.clear();
}

std::string read_text_file(const std::string& path, std::uint64_t max_bytes) {
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0)
    throw WeightsError(path, std::string("cannot open the file: ") + std::strerror(errno));
  const std::uint64_t size = regular_file_size(fd.fd, path);
  if (size > max_bytes)
    throw WeightsError(path, "file is " + std::to_string(size) + " bytes, more than the limit of " +
                                 std::to_string(max_bytes) + " bytes");
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw WeightsError(path, std::string("cannot read the file: ") + std::strerror(errno));
    if (n == 0) break;  // the file shrank while reading
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace xpusim::weights
