// Checked file writes and folders published by rename.
#include "sim/base/output_files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sim/base/errors.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

[[noreturn]] void fail(const fs::path& path, int err) {
  throw OutputError(path.string(), std::strerror(err));
}

// True unless `pid` is certainly gone: a folder of a live process (or of one we may not signal)
// is left alone.
bool process_alive(long pid) {
  if (pid <= 0) return false;
  if (pid == static_cast<long>(::getpid())) return false;  // a leftover of an earlier process
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// The pid in a ".NAME.partial-PID" or ".NAME.old-PID" entry of `prefix` (".NAME."), or -1.
long staging_pid(const std::string& entry, const std::string& prefix) {
  if (!entry.starts_with(prefix)) return -1;
  std::string rest = entry.substr(prefix.size());
  for (const char* kind : {"partial-", "old-"}) {
    if (!rest.starts_with(kind)) continue;
    std::string digits = rest.substr(std::strlen(kind));
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    return std::stol(digits);
  }
  return -1;
}

}  // namespace

void write_file(const fs::path& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, errno);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      fail(path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && errno != EINTR) fail(path, errno);
}

StagedFolder::StagedFolder(fs::path target, std::function<bool(const fs::path&)> replaceable)
    : replaceable_(std::move(replaceable)) {
  target = target.lexically_normal();
  if (!target.has_filename() && target.has_parent_path() && target != target.root_path())
    target = target.parent_path();  // "out/" is "out"
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw OutputError(target.string(), "not a folder of its own that can be replaced whole");
  // A symbolic link to a folder: the linked folder is replaced and the link kept.
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(target, ec))) {
    fs::path real = fs::canonical(target, ec);
    if (ec) fail(target, ec.value());
    target = real;
  }
  target_ = target;
  check_target();  // before anything is created beside it
  const fs::path dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  fs::create_directories(dir, ec);
  if (ec) fail(dir, ec.value());

  const std::string prefix = "." + target_.filename().string() + ".";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long pid = staging_pid(it->path().filename().string(), prefix);
    if (pid > 0 && !process_alive(pid)) {
      std::error_code ignored;  // another run may be removing it too
      fs::remove_all(it->path(), ignored);
    }
  }
  const std::string pid = std::to_string(::getpid());
  staging_ = dir / (prefix + "partial-" + pid);
  old_ = dir / (prefix + "old-" + pid);
  if (!fs::create_directory(staging_, ec) || ec) fail(staging_, ec ? ec.value() : EEXIST);
}

StagedFolder::~StagedFolder() {
  if (published_) return;
  std::error_code ignored;
  fs::remove_all(staging_, ignored);
}

void StagedFolder::write(const std::string& relative, std::string_view content) {
  const fs::path path = staging_ / relative;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) fail(path.parent_path(), ec.value());
  write_file(path, content);
}

bool StagedFolder::check_target() const {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(target_, ec);
  if (!fs::exists(st)) return false;
  if (!fs::is_directory(st))
    throw OutputError(target_.string(), "it exists and is not a folder; it was left as it is");
  if (replaceable_ && !replaceable_(target_))
    throw OutputError(target_.string(),
                      "the folder holds files that xpusim did not write; it was left as it is "
                      "(remove them or choose another output folder)");
  return true;
}

void StagedFolder::publish() {
  std::error_code ec;
  bool moved_aside = false;
  if (check_target()) {
    fs::rename(target_, old_, ec);
    if (ec) fail(target_, ec.value());
    moved_aside = true;
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    const int err = ec.value();
    if (moved_aside) fs::rename(old_, target_, ec);  // best effort: put the earlier folder back
    fail(target_, err);
  }
  published_ = true;
  if (moved_aside) fs::remove_all(old_, ec);  // left hidden on failure; the next run removes it
}

}  // namespace xpusim
