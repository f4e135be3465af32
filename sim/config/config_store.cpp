// Preset lookup and base/include resolution over embedded and on-disk configuration files.
#include "sim/config/config_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/base/file_read.h"
#include "sim/config/embedded_configs.h"
#include "sim/base/suggest.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {


bool looks_like_path(const std::string& ref) {
  return ref.find('/') != std::string::npos || ref.ends_with(".yaml") || ref.ends_with(".yml");
}

PresetInfo info_from_path(const std::string& rel_to_configs, const std::string& full,
                          bool embedded) {
  fs::path p(rel_to_configs);
  PresetInfo info;
  info.name = p.stem().string();
  info.category = p.parent_path().generic_string();
  info.path = full;
  info.embedded = embedded;
  return info;
}

}  // namespace

ConfigStore::ConfigStore() {
  for (const auto& f : embedded_config_files()) {
    std::string path = f.path;
    presets_.push_back(info_from_path(path.substr(std::string("configs/").size()), path, true));
  }
  if (const char* dir = std::getenv("XPUSIM_CONFIG_DIR"); dir && *dir) {
    override_dir_ = dir;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(override_dir_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || it->path().extension() != ".yaml") continue;
      std::string rel = fs::relative(it->path(), override_dir_).generic_string();
      PresetInfo info = info_from_path(rel, it->path().string(), false);
      auto same = std::find_if(presets_.begin(), presets_.end(), [&](const PresetInfo& p) {
        return p.name == info.name && p.category == info.category;
      });
      if (same != presets_.end())
        *same = info;
      else
        presets_.push_back(info);
    }
  }
  std::stable_sort(presets_.begin(), presets_.end(), [](const PresetInfo& a, const PresetInfo& b) {
    return std::tie(a.category, a.name) < std::tie(b.category, b.name);
  });
}

std::vector<std::string> ConfigStore::names_in(std::string_view category_prefix) const {
  std::vector<std::string> out;
  for (const auto& p : presets_)
    if (p.category.starts_with(category_prefix)) out.push_back(p.name);
  return out;
}

const PresetInfo* ConfigStore::find_preset(const std::string& name,
                                           std::string_view category_prefix) const {
  for (const auto& p : presets_)
    if (p.name == name && p.category.starts_with(category_prefix)) return &p;
  return nullptr;
}

std::optional<std::string> ConfigStore::read(const std::string& path) const {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::string text = read_file_bounded(path, "", kMaxConfigFileBytes);
    check_utf8(text, path, "");
    return text;
  }
  for (const auto& f : embedded_config_files())
    if (path == f.path) return std::string(f.content);
  return std::nullopt;
}

std::string ConfigStore::locate(const std::string& ref, const std::string& from_file,
                                const SourceLoc& at, std::string_view category_prefix) const {
  if (looks_like_path(ref)) {
    fs::path p(ref);
    if (p.is_relative() && !from_file.empty()) {
      fs::path sibling = fs::path(from_file).parent_path() / p;
      std::string s = sibling.lexically_normal().generic_string();
      std::error_code ec;
      bool on_disk = fs::exists(s, ec);
      bool embedded = std::any_of(embedded_config_files().begin(), embedded_config_files().end(),
                                  [&](const EmbeddedFile& f) { return s == f.path; });
      if (on_disk || embedded) return s;
    }
    std::error_code ec;
    const bool here = fs::exists(ref, ec) ||
                      std::any_of(embedded_config_files().begin(), embedded_config_files().end(),
                                  [&](const EmbeddedFile& f) { return ref == f.path; });
    if (!here && at.line > 0)  // named inside a file: say where, not only which
      throw ConfigError(
          at, "",
          fmt::format("no file '{}'{}", ref,
                      p.is_relative() && !from_file.empty()
                          ? fmt::format(" (a relative path is looked up beside {}: {})", from_file,
                                        (fs::path(from_file).parent_path() / p)
                                            .lexically_normal()
                                            .generic_string())
                          : std::string()));
    return ref;
  }
  if (const PresetInfo* p = find_preset(ref, category_prefix)) return p->path;
  if (const PresetInfo* p = find_preset(ref, "")) return p->path;
  auto names = names_in(category_prefix);
  std::string where =
      category_prefix.empty() ? "" : fmt::format(" under configs/{}", category_prefix);
  throw ConfigError(at, "",
                    fmt::format("no preset or file named '{}'{}{}; `xpusim list` shows the presets",
                                ref, where, did_you_mean(ref, names)));
}

CfgNode ConfigStore::resolve(const std::string& path, std::vector<std::string>& stack) const {
  if (std::find(stack.begin(), stack.end(), path) != stack.end()) {
    std::string chain;
    for (const auto& s : stack) chain += s + " -> ";
    throw ConfigError(SourceLoc{path, 0, 0}, "",
                      fmt::format("inheritance cycle: {}{}", chain, path));
  }
  auto text = read(path);
  if (!text) throw ConfigError(SourceLoc{path, 0, 0}, "", "file not found");
  stack.push_back(path);
  CfgNode doc = parse_yaml(*text, path);
  std::string category;
  if (path.starts_with("configs/"))
    category = fs::path(path.substr(8)).parent_path().generic_string();
  // A base preset is looked up among the presets of the same top-level family (hw, models, ...).
  std::string family = category.substr(0, category.find('/'));

  CfgNode result;
  result.kind = CfgNode::Kind::kMap;
  result.loc = doc.loc;
  if (const CfgNode* base = doc.find("base")) {
    if (!base->is_scalar())
      throw ConfigError(base->loc, "base", "must be one preset name or file path");
    result = resolve(locate(base->scalar, path, base->loc, family), stack);
  }
  if (const CfgNode* inc = doc.find("include")) {
    std::vector<const CfgNode*> items;
    if (inc->is_scalar())
      items.push_back(inc);
    else if (inc->is_seq())
      for (const auto& i : inc->seq) items.push_back(&i);
    else
      throw ConfigError(inc->loc, "include", "must be a file path or a list of file paths");
    for (const CfgNode* i : items) {
      if (!i->is_scalar()) throw ConfigError(i->loc, "include", "each entry must be a file path");
      merge_into(result, resolve(locate(i->scalar, path, i->loc, family), stack));
    }
  }
  doc.erase("base");
  doc.erase("include");
  merge_into(result, doc);
  stack.pop_back();
  return result;
}

CfgNode ConfigStore::load_file(const std::string& file) const {
  std::vector<std::string> stack;
  return resolve(file, stack);
}

CfgNode ConfigStore::load_named(const std::string& name_or_file, const std::string& from_file,
                                const SourceLoc& at, std::string_view category_prefix) const {
  return load_file(locate(name_or_file, from_file, at, category_prefix));
}

CfgNode ConfigStore::load(const std::string& name_or_file, std::string_view category_prefix) const {
  std::string path = locate(name_or_file, "", SourceLoc{"<command line>", 0, 0}, category_prefix);
  return load_file(path);
}

}  // namespace xpusim
