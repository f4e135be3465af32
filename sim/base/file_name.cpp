// The file-name rule for names that become paths.
#include "sim/base/file_name.h"

#include <fmt/format.h>

#include <filesystem>

namespace xpusim {

namespace {
constexpr size_t kMaxNameBytes = 128;  // leaves room for prefixes and suffixes within NAME_MAX

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }
}  // namespace

std::optional<std::string> file_name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxNameBytes) return fmt::format("the name is {} bytes long", name.size());
  for (unsigned char c : name)
    if (c == '/' || c == '\\') return fmt::format("the name contains '{}'", char(c));
  if (name.find("..") != std::string_view::npos) return "the name contains '..'";
  if (name.front() == '.') return "the name starts with '.'";
  for (unsigned char c : name)
    if (is_control(c)) return fmt::format("the name contains the control character 0x{:02x}", c);
  return std::nullopt;
}

std::string safe_file_name(std::string_view name, std::string_view fallback) {
  if (!file_name_problem(name)) return std::string(name);
  std::string s = std::filesystem::path(std::string(name)).stem().string();
  for (char& c : s)
    if (c == '/' || c == '\\' || is_control(static_cast<unsigned char>(c))) c = '_';
  while (s.find("..") != std::string::npos) s.replace(s.find(".."), 2, "_");
  while (!s.empty() && s.front() == '.') s.erase(0, 1);
  if (s.size() > kMaxNameBytes) s.resize(kMaxNameBytes);
  if (file_name_problem(s)) return std::string(fallback);
  return s;
}

}  // namespace xpusim
