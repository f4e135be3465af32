// `xpusim check`, `describe` and `list`: configuration validation and schema/preset listings.
#include <fmt/format.h>

#include <iostream>

#include "arch/registry.h"
#include "sim/cli/options.h"
#include "sim/config/config_store.h"
#include "sim/run/config_check.h"
#include "sim/run/experiment.h"
#include "sim/run/sweep.h"
#include "sim/run/sweep_runner.h"
#include "sim/base/suggest.h"
#include "workloads/model.h"

namespace xpusim::cli {
namespace {

// `check` resolves a sweep's points one by one up to this many (as `sweep` needs --yes beyond).
constexpr size_t kCheckSweepPoints = 100000;

std::vector<const SchemaBase*> all_schemas() {
  std::vector<const SchemaBase*> out;
  for (const auto& t : device_registry().types()) out.push_back(device_registry().find(t)->schema);
  out.push_back(&model_schema());
  out.push_back(&experiment_schema());
  return out;
}

}  // namespace

int cmd_check(const Args& args) {
  po::options_description opts("check options");
  std::vector<std::string> files;
  opts.add_options()("file", po::value(&files), "configuration files or preset names");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: xpusim check FILE|NAME...\n\nValidates configuration files (hardware, model, "
          "experiment or sweep; presets by name) and reports every error; runs nothing. A sweep's "
          "points are each resolved, as `xpusim sweep` does before it runs any.",
          opts, pos, vm))
    return 0;
  if (files.empty()) throw UsageError("give at least one file or preset name to check");
  ConfigStore store;
  std::vector<ConfigIssue> issues;
  for (const auto& f : files) {
    try {
      const CfgNode& tree = store.load(f, "");
      check_config(store, tree, f);
      std::string note;
      if (const CfgNode* type = tree.find("type"); type && type->scalar == "sweep") {
        // Every point resolved as `sweep` would before running it: a bad value or key path in
        // any point is an error here too.
        const SweepConfig sweep = parse_sweep(tree);
        const std::vector<SweepPoint> points = expand_sweep(sweep);
        if (points.size() > kCheckSweepPoints) {
          note = fmt::format(" (the sweep file and its experiment; its {} points are more than "
                             "{}, so they were not resolved one by one)",
                             points.size(), kCheckSweepPoints);
        } else {
          if (points.size() > 1000)
            std::cerr << fmt::format("xpusim check: resolving {} sweep points\n", points.size());
          std::vector<const SweepPoint*> all;
          for (const auto& p : points) all.push_back(&p);
          resolve_sweep_points(store, sweep, all, "", {});
          note = fmt::format(" ({} sweep points resolved)", points.size());
        }
      }
      std::cout << fmt::format("{}: ok{}\n", f, note);
    } catch (const ConfigError& e) {
      issues.insert(issues.end(), e.issues().begin(), e.issues().end());
    }
  }
  if (!issues.empty()) throw ConfigError(issues);
  return 0;
}

int cmd_describe(const Args& args) {
  po::options_description opts("describe options");
  std::string type;
  opts.add_options()("type", po::value(&type), "gpu|cpu|tpu|model|experiment (default: all)");
  po::positional_options_description pos;
  pos.add("type", 1);
  po::variables_map vm;
  if (!parse_options(
          args,
          "usage: xpusim describe [TYPE]\n\nPrints every parameter of a configuration type: "
          "key path, meaning, type and unit, default and allowed range.",
          opts, pos, vm))
    return 0;
  std::vector<std::string> names;
  for (const SchemaBase* s : all_schemas()) {
    names.push_back(s->type());
    if (type.empty() || type == s->type()) std::cout << s->describe() << "\n";
  }
  if (!type.empty() && std::find(names.begin(), names.end(), type) == names.end())
    throw UsageError(fmt::format("no configuration type '{}'; types: {}{}", type,
                                 fmt::join(names, ", "), did_you_mean(type, names)));
  return 0;
}

int cmd_list(const Args& args) {
  po::options_description opts("list options");
  po::variables_map vm;
  if (!parse_options(args, "usage: xpusim list\n\nLists the built-in presets by category.", opts,
                     {}, vm))
    return 0;
  ConfigStore store;
  std::string current;
  for (const auto& p : store.presets()) {
    if (p.category != current) {
      current = p.category;
      std::cout << current << ":\n";
    }
    CfgNode tree;
    std::string desc;
    try {
      tree = store.load_file(p.path);
      if (const CfgNode* d = tree.find("description"); d && d->is_scalar()) desc = d->scalar;
    } catch (const ConfigError& e) {
      desc = "(invalid: " + e.issues().front().str() + ")";
    }
    std::cout << fmt::format("  {:<14} {}\n", p.name, desc);
  }
  return 0;
}

}  // namespace xpusim::cli
