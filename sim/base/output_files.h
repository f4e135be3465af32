// Writing outputs so that every write is checked and a folder appears whole or not at all.
// Failures throw OutputError with the path and the system's reason (exit 1 in main).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace xpusim {

// Writes `content` to `path` (created or truncated) and checks every write and the close: a full
// disk or /dev/full throws OutputError. The file is written in place, so special files such as
// /dev/stdout work as targets.
void write_file(const std::filesystem::path& path, std::string_view content);

// A folder built under a hidden sibling name and renamed into place when complete, so that its
// final path holds either nothing or a complete folder, whenever the process is killed.
//
// For a target DIR/NAME: the constructor creates DIR and DIR/.NAME.partial-PID, after removing
// the staging folders (.NAME.partial-PID, .NAME.old-PID) that processes no longer alive left
// behind. publish() renames an existing DIR/NAME to DIR/.NAME.old-PID, renames the staging folder
// to DIR/NAME and removes the old one: between the two renames DIR/NAME is briefly absent, never
// mixed. Without publish(), the destructor removes the staging folder.
class StagedFolder {
 public:
  // `replaceable` is asked about an existing target folder; publish() refuses to replace a folder
  // it rejects (one holding files the writer does not own).
  StagedFolder(std::filesystem::path target,
               std::function<bool(const std::filesystem::path&)> replaceable);
  ~StagedFolder();
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& staging() const { return staging_; }
  // Writes `relative` (which may name subfolders) inside the staging folder.
  void write(const std::string& relative, std::string_view content);
  void publish();

 private:
  // True when the target exists and may be replaced; throws when it exists and may not.
  bool check_target() const;

  std::filesystem::path target_, staging_, old_;
  std::function<bool(const std::filesystem::path&)> replaceable_;
  bool published_ = false;
};

}  // namespace xpusim
