// Parsing of JSON from untrusted files (safetensors headers, config.json, index files): limits
// the nesting depth, rejects duplicate object keys (which nlohmann would silently overwrite)
// and turns parse errors into WeightsError with line:col or a byte offset in the file.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace xpusim::weights {

enum class JsonErrorPosition {
  kLineColumn,  // text files: "config.json:3:14"
  kFileOffset,  // JSON embedded in a binary file: "at byte 1234" in the message
};

struct JsonParseOptions {
  int max_depth = 64;  // containers nested inside each other, the root counting 1
  JsonErrorPosition position = JsonErrorPosition::kLineColumn;
  std::uint64_t offset_in_file = 0;  // where `text` starts in the file (kFileOffset)
};

// Throws WeightsError naming `file` on malformed JSON, excess depth or a duplicate key.
nlohmann::json parse_untrusted_json(std::string_view text, const std::string& file,
                                    const JsonParseOptions& options);

// "object", "array", "string", "number", "boolean", "null" — for "expected X, got Y" messages.
std::string json_kind(const nlohmann::json& value);

}  // namespace xpusim::weights
