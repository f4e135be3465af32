// A device built from a preset with `--set`-style overrides, as the CLI builds it: for the tests
// of each family's model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"

namespace xpusim::testing {

// Override errors throw ConfigError: tests that expect one catch it, the others fail on it.
inline std::unique_ptr<Device> preset_device(const std::string& preset,
                                             const std::vector<std::string>& sets = {}) {
  ConfigStore store;
  CfgNode tree = store.load(preset, "hw");
  ErrorList errors;
  for (const auto& s : sets) apply_override(tree, s, errors);
  errors.throw_if_any();
  return make_device(tree, preset);
}

}  // namespace xpusim::testing
