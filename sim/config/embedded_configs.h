// The YAML files under configs/, compiled into the binary by cmake/embed_configs.cmake.
#pragma once

#include <string>
#include <vector>

namespace xpusim {

struct EmbeddedFile {
  const char* path;  // relative to the repository root, e.g. "configs/hw/gpu/h100.yaml"
  const char* content;
};

const std::vector<EmbeddedFile>& embedded_config_files();

}  // namespace xpusim
