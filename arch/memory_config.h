// A memory level's capacity, bandwidth and latency, declared the same way by every family.
#pragma once

#include <string>

#include "sim/config/schema.h"

namespace xpusim {

struct MemoryConfig {
  double size_bytes = 0;
  double bw_bytes_per_s = 0;
  double latency_s = 0;
};

template <class Cfg, class... M>
void declare_memory(Schema<Cfg>& s, const std::string& prefix, const std::string& what,
                    const std::string& default_latency, M... path) {
  s.quantity(prefix + ".size", Unit::kBytes, kRequired, Range{1, 1e15}, what + ": capacity",
             path..., &MemoryConfig::size_bytes);
  s.quantity(prefix + ".bw", Unit::kBytesPerSecond, kRequired, Range{1e6, 1e15},
             what + ": peak bandwidth", path..., &MemoryConfig::bw_bytes_per_s);
  s.quantity(prefix + ".latency", Unit::kSeconds, default_latency, Range{0, 1e-3},
             what + ": first-byte latency of a request stream", path..., &MemoryConfig::latency_s);
}

}  // namespace xpusim
