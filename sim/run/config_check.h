// Validation of one resolved configuration file (hardware, model, experiment or sweep, chosen by
// its `type:`) without running anything: what `xpusim check` does for each file, and what the
// config fuzz target drives.
#pragma once

#include <string>

#include "sim/config/config_store.h"

namespace xpusim {

// Builds what the file describes (a device, a model, an experiment with its hardware and model
// files resolved through `store`, or a sweep and its base experiment); throws ConfigError listing
// every problem. A sweep's points are not resolved here (resolve_sweep_points does that).
void check_config(const ConfigStore& store, const CfgNode& tree, const std::string& name);

}  // namespace xpusim
