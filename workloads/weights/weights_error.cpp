// Formatting helpers for weight-file errors: capped issue lists, quoted names and shapes.
#include "workloads/weights/weights_error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace xpusim::weights {

void IssueCollector::add(const std::string& file, std::string key_path, std::string message) {
  ++total_;
  if (issues_.size() < max_listed_)
    issues_.push_back({SourceLoc{file, 0, 0}, std::move(key_path), std::move(message)});
}

void IssueCollector::throw_if_any() const {
  if (total_ == 0) return;
  auto issues = issues_;
  if (total_ > issues_.size()) {
    const auto& last = issues_.back();
    issues.push_back({last.loc, "",
                      fmt::format("... and {} more problems not listed", total_ - issues_.size())});
  }
  throw WeightsError(std::move(issues));
}

std::string quote_name(std::string_view name) {
  constexpr std::size_t kMaxShown = 120;
  std::string out = "'";
  for (std::size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (name.size() > kMaxShown)
    out += fmt::format("...' ({} bytes)", name.size());
  else
    out += "'";
  return out;
}

std::string shape_str(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace xpusim::weights
