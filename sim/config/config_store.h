// Finds configuration files by preset name or path and resolves `base:` inheritance and
// `include:` lists into one merged tree. Presets come from the copy of configs/ compiled into
// the binary, overridden by files in $XPUSIM_CONFIG_DIR (a folder laid out like configs/).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/config/config_tree.h"

namespace xpusim {

struct PresetInfo {
  std::string name;      // file stem: "h100"
  std::string category;  // folder below configs/: "hw/gpu", "models", "experiments"
  std::string path;      // "configs/hw/gpu/h100.yaml" (embedded) or a real path
  bool embedded = true;
};

class ConfigStore {
 public:
  ConfigStore();  // embedded presets plus $XPUSIM_CONFIG_DIR when set

  const std::vector<PresetInfo>& presets() const { return presets_; }
  std::vector<std::string> names_in(std::string_view category_prefix) const;

  // NAME (a preset under configs/<category_prefix>) or a path to a YAML file. The result has
  // base/include resolved and removed. Throws ConfigError for missing files, cycles and bad YAML.
  CfgNode load(const std::string& name_or_file, std::string_view category_prefix) const;
  // Loads a file's text and resolves base/include; `file` is a real path or embedded path.
  CfgNode load_file(const std::string& file) const;
  // NAME or a path named inside another file (`from_file`, at `at`): a relative path resolves
  // against that file's folder, as `base:` does, and a missing one is reported at `at`.
  CfgNode load_named(const std::string& name_or_file, const std::string& from_file,
                     const SourceLoc& at, std::string_view category_prefix) const;

 private:
  std::optional<std::string> read(const std::string& path) const;
  const PresetInfo* find_preset(const std::string& name, std::string_view category_prefix) const;
  CfgNode resolve(const std::string& path, std::vector<std::string>& stack) const;
  std::string locate(const std::string& ref, const std::string& from_file, const SourceLoc& at,
                     std::string_view category_prefix) const;

  std::vector<PresetInfo> presets_;
  std::string override_dir_;
};

}  // namespace xpusim
