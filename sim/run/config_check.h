// Validation of one resolved configuration file (hardware, model or experiment, chosen by its
// `type:`) without running anything: what `xpusim check` does for each file, and what the
// config fuzz target drives.
#pragma once

#include <string>

#include "sim/config/config_store.h"

namespace xpusim {

// Builds what the file describes (a device, a model, or an experiment with its hardware and
// model files resolved through `store`); throws ConfigError listing every problem.
void check_config(const ConfigStore& store, const CfgNode& tree, const std::string& name);

}  // namespace xpusim
