// Depth- and duplicate-checked JSON parsing with positions in error messages.
#include "workloads/weights/untrusted_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "workloads/weights/weights_error.h"

namespace xpusim::weights {
namespace {

// nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, column 5:
// syntax error ..."; keep only the description, since the position is reported our way.
std::string parse_error_description(const std::string& what) {
  std::string msg = what;
  if (auto p = msg.find("] "); p != std::string::npos && msg.starts_with("[json.exception"))
    msg = msg.substr(p + 2);
  if (msg.starts_with("parse error")) {
    if (auto p = msg.find(": "); p != std::string::npos) msg = msg.substr(p + 2);
  }
  constexpr std::size_t kMaxLen = 300;  // the "last read" token can be a whole huge string
  if (msg.size() > kMaxLen) msg = msg.substr(0, kMaxLen) + "...";
  return msg;
}

// Thrown from inside the parser's callback to stop parsing; turned into a WeightsError.
struct JsonRejected {
  std::string message;
};

}  // namespace

nlohmann::json parse_untrusted_json(std::string_view text, const std::string& file,
                                    const JsonParseOptions& options) {
  std::vector<std::set<std::string>> keys_per_object;  // one set per open object
  std::vector<bool> container_is_object;

  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth + 1 > options.max_depth)
          throw JsonRejected{
              fmt::format("JSON nested more than {} levels deep", options.max_depth)};
        container_is_object.push_back(event == E::object_start);
        if (event == E::object_start) keys_per_object.emplace_back();
        break;
      case E::object_end:
      case E::array_end:
        if (!container_is_object.empty()) {
          if (container_is_object.back()) keys_per_object.pop_back();
          container_is_object.pop_back();
        }
        break;
      case E::key:
        if (!keys_per_object.empty() && parsed.is_string() &&
            !keys_per_object.back().insert(parsed.get<std::string>()).second)
          throw JsonRejected{
              fmt::format("duplicate JSON key {}", quote_name(parsed.get<std::string>()))};
        break;
      case E::value:
        break;
    }
    return true;
  };

  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                                 /*ignore_comments=*/false);
  } catch (const JsonRejected& e) {
    throw WeightsError(file, e.message);
  } catch (const nlohmann::json::parse_error& e) {
    const std::string desc = parse_error_description(e.what());
    // e.byte is 1-based: the position of the last character read.
    const std::size_t at = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    if (options.position == JsonErrorPosition::kFileOffset)
      throw WeightsError(file, fmt::format("invalid JSON header at byte {}: {}",
                                           options.offset_in_file + at, desc));
    const auto prefix = text.substr(0, at);
    const int line = 1 + static_cast<int>(std::count(prefix.begin(), prefix.end(), '\n'));
    const auto nl = prefix.rfind('\n');
    const int col = 1 + static_cast<int>(nl == std::string_view::npos ? at : at - nl - 1);
    throw WeightsError(std::vector<ConfigIssue>{
        {SourceLoc{file, line, col}, "", fmt::format("invalid JSON: {}", desc)}});
  } catch (const nlohmann::json::exception& e) {
    throw WeightsError(file, fmt::format("invalid JSON: {}", parse_error_description(e.what())));
  }
}

std::string json_kind(const nlohmann::json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_number_float()) return "a floating-point number";
  if (value.is_number()) return "an integer";
  return "a binary value";
}

}  // namespace xpusim::weights
