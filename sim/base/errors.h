// User-facing configuration errors (the user's fault, reported with file:line:col and key path)
// and the internal-invariant check (a bug, reported with the source file and line).
#pragma once

#include <stdexcept>
#include <string>
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

// Collects every problem found while loading, so that all of them are reported at once.
class ErrorList {
 public:
  void add(SourceLoc loc, std::string key_path, std::string message);
  bool empty() const { return issues_.empty(); }
  const std::vector<ConfigIssue>& issues() const { return issues_; }
  void throw_if_any() const;  // throws ConfigError holding every issue

 private:
  std::vector<ConfigIssue> issues_;
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
