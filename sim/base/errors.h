// User-facing configuration errors (the user's fault, reported with file:line:col and key path)
// and the internal-invariant check (a bug, reported with the source file and line).
#pragma once

#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace xpusim {

struct SourceLoc {
  std::string file;  // "<command line>", a path, or an embedded "configs/..." path
  int line = 0;      // 1-based; 0 when unknown
  int col = 0;       // 1-based; 0 when unknown
  std::string str() const;
};

struct ConfigIssue {
  SourceLoc loc;
  std::string key_path;  // "gpu.sm.count"; empty when the issue is about a whole file
  std::string message;
  std::string str() const;  // "file:line:col: error: key.path: message"
};

// Collects every problem found while loading, so that all of them are reported at once: the
// first kMaxListed distinct ones, and how many more there were. Adding stays O(1) per issue.
class ErrorList {
 public:
  static constexpr size_t kMaxListed = 100;
  void add(SourceLoc loc, std::string key_path, std::string message);
  bool empty() const { return issues_.empty(); }
  const std::vector<ConfigIssue>& issues() const { return issues_; }
  size_t not_listed() const { return more_; }  // distinct issues beyond the first kMaxListed
  // True once kMaxListed issues are listed: a caller may skip costly wording (suggestions) for
  // the issues that will only be counted.
  bool full() const { return issues_.size() >= kMaxListed; }
  // Throws ConfigError holding the listed issues in reading order, and a last one saying how
  // many more there were.
  void throw_if_any() const;

 private:
  std::vector<ConfigIssue> issues_;
  std::unordered_set<std::string> seen_;
  size_t more_ = 0;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigIssue> issues);
  ConfigError(SourceLoc loc, std::string key_path, std::string message);
  const std::vector<ConfigIssue>& issues() const { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

// Runs `fn`; the issues of a ConfigError it throws are appended to `issues` instead, so that
// several files can be checked and all their problems reported together.
template <class Fn>
void collect_config_errors(std::vector<ConfigIssue>& issues, Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    issues.insert(issues.end(), e.issues().begin(), e.issues().end());
  }
}

// A file or folder that could not be written (full disk, no permission, a path that is not a
// folder): a runtime failure, reported with the path and the reason, exit 1.
class OutputError : public std::runtime_error {
 public:
  OutputError(const std::string& path, const std::string& reason);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

[[noreturn]] void invariant_failed(const char* expr, const char* file, int line,
                                   const std::string& msg);

}  // namespace xpusim

// A broken invariant is a bug in xpusim, never the user's fault.
#define XPUSIM_ASSERT(expr, msg) \
  ((expr) ? (void)0 : ::xpusim::invariant_failed(#expr, __FILE__, __LINE__, (msg)))
