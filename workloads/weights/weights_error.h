// Errors for weight files (safetensors, config.json, checkpoint folders). A bad or corrupt file
// is the user's fault, so WeightsError is a ConfigError: the CLI prints it and exits 2. Byte
// formats report line 0 and put the byte offset in the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/base/errors.h"

namespace xpusim::weights {

class WeightsError : public ConfigError {
 public:
  using ConfigError::ConfigError;
  WeightsError(const std::string& file, std::string message)
      : ConfigError(SourceLoc{file, 0, 0}, "", std::move(message)) {}
  WeightsError(const std::string& file, std::string key_path, std::string message)
      : ConfigError(SourceLoc{file, 0, 0}, std::move(key_path), std::move(message)) {}
};

// Collects problems so that all of them are reported at once, but keeps only the first
// `max_listed`: an untrusted file can hold millions of bad entries.
class IssueCollector {
 public:
  explicit IssueCollector(std::size_t max_listed = 200) : max_listed_(max_listed) {}
  void add(const std::string& file, std::string key_path, std::string message);
  bool empty() const { return total_ == 0; }
  std::size_t count() const { return total_; }
  void throw_if_any() const;  // throws WeightsError with every listed issue and a summary line

 private:
  std::size_t max_listed_;
  std::size_t total_ = 0;
  std::vector<ConfigIssue> issues_;
};

// A name from an untrusted file, quoted and cut to a readable length for messages.
std::string quote_name(std::string_view name);

// "[4096, 11008]"
std::string shape_str(const std::vector<std::int64_t>& shape);

}  // namespace xpusim::weights
