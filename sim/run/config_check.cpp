// `type:` dispatch for configuration validation: model, experiment, or else a device family.
#include "sim/run/config_check.h"

#include <vector>

#include "arch/registry.h"
#include "sim/run/experiment.h"
#include "workloads/model.h"

namespace xpusim {

void check_config(const ConfigStore& store, const CfgNode& tree, const std::string& name) {
  const CfgNode* type = tree.find("type");
  std::string t = type && type->is_scalar() ? type->scalar : "";
  if (t == "model") {
    parse_model(tree);
  } else if (t == "experiment") {
    // Runs the full resolution of the experiment's hardware and model files, nothing more.
    ErrorList errors;
    auto cfg = parse_experiment(tree, errors);
    errors.throw_if_any();
    std::vector<ConfigIssue> issues;
    auto collect = [&](auto&& fn) { collect_config_errors(issues, fn); };
    collect([&] { parse_model(store.load(cfg.model, "models")); });
    for (const auto& hw : cfg.hw) collect([&] { make_device(store.load(hw, "hw"), hw); });
    if (!issues.empty()) throw ConfigError(issues);
  } else {
    make_device(tree, name);
  }
}

}  // namespace xpusim
