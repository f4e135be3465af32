// `type:` dispatch for configuration validation: model, experiment, or else a device family.
#include "sim/run/config_check.h"

#include <vector>

#include "arch/registry.h"
#include "sim/run/experiment.h"
#include "sim/run/sweep.h"
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
  } else if (t == "sweep") {
    // The sweep file itself, then its base experiment as above; the points are resolved by the
    // caller that wants them (`xpusim check`), since a sweep may hold a million.
    const SweepConfig sweep = parse_sweep(tree);
    CfgNode experiment;
    try {
      experiment = store.load(sweep.experiment, "experiments");
    } catch (const ConfigError& e) {  // said at the sweep file's `experiment:` key
      throw ConfigError(sweep.experiment_loc, "experiment", e.issues().front().message);
    }
    check_config(store, experiment, sweep.experiment);
  } else {
    make_device(tree, name);
  }
}

}  // namespace xpusim
