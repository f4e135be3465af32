// Caches operator results by (device fingerprint, op signature): the 32 identical layers of a
// 7B model, and the GEMMs shared by every decode step, are simulated once.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "arch/device.h"

namespace xpusim {

class OpCache {
 public:
  // Results for `ops` in order; only ops not seen before on this device reach the simulator
  // (together, in one engine run).
  Evaluation run(Device& device, const std::vector<Op>& ops);
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t size() const { return map_.size(); }
  void clear();

 private:
  std::unordered_map<std::string, OpResult> map_;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace xpusim
