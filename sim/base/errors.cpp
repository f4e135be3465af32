// Formatting of configuration errors and internal-invariant failures.
#include "sim/base/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace xpusim {

std::string SourceLoc::str() const {
  if (file.empty()) return "<unknown>";
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, col);
}

std::string ConfigIssue::str() const {
  if (loc.file.empty() && key_path.empty()) return message;  // a summary line
  if (key_path.empty()) return fmt::format("{}: error: {}", loc.str(), message);
  return fmt::format("{}: error: {}: {}", loc.str(), key_path, message);
}

void ErrorList::add(SourceLoc loc, std::string key_path, std::string message) {
  // The same problem reached twice (one override applied to several files) is reported once.
  std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", loc.file, loc.line, loc.col,
                                key_path, message);
  if (!seen_.insert(std::move(key)).second) return;
  if (issues_.size() >= kMaxListed) {
    ++more_;
    return;
  }
  issues_.push_back({std::move(loc), std::move(key_path), std::move(message)});
}

void ErrorList::throw_if_any() const {
  if (issues_.empty()) return;
  // In reading order: by file, then line and column.
  auto sorted = issues_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::tie(a.loc.file, a.loc.line, a.loc.col) <
           std::tie(b.loc.file, b.loc.line, b.loc.col);
  });
  if (more_ > 0)
    sorted.push_back({SourceLoc{}, "",
                      fmt::format("... and {} more problem{} (only the first {} are listed)", more_,
                                  more_ == 1 ? "" : "s", kMaxListed)});
  throw ConfigError(sorted);
}

static std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    if (!out.empty()) out += '\n';
    out += i.str();
  }
  return out;
}

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

ConfigError::ConfigError(SourceLoc loc, std::string key_path, std::string message)
    : ConfigError(
          std::vector<ConfigIssue>{{std::move(loc), std::move(key_path), std::move(message)}}) {}

OutputError::OutputError(const std::string& path, const std::string& reason)
    : std::runtime_error(fmt::format("cannot write {}: {}", path, reason)), path_(path) {}

void invariant_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw std::logic_error(fmt::format(
      "internal error (a bug in xpusim): {}:{}: assertion '{}' failed: {}", file, line, expr, msg));
}

}  // namespace xpusim
