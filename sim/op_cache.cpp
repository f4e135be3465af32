// Op-result cache: batches the misses into one simulation.
#include "sim/op_cache.h"

namespace xpusim {

Evaluation OpCache::run(Device& device, const std::vector<Op>& ops) {
  std::vector<std::string> keys;
  keys.reserve(ops.size());
  std::vector<Op> missing;
  std::unordered_map<std::string, size_t> pending;
  for (const auto& op : ops) {
    keys.push_back(device.fingerprint() + "#" + op.signature());
    if (map_.count(keys.back())) {
      ++hits_;
    } else if (!pending.count(keys.back())) {
      pending.emplace(keys.back(), missing.size());
      missing.push_back(op);
      ++misses_;
    } else {
      ++hits_;
    }
  }
  if (!missing.empty()) {
    Evaluation sub = device.run(missing);
    if (!sub.ok) return sub;
    for (const auto& [key, idx] : pending) map_.emplace(key, sub.results[idx]);
  }
  Evaluation ev;
  ev.results.reserve(ops.size());
  for (const auto& k : keys) ev.results.push_back(map_.at(k));
  return ev;
}

void OpCache::clear() {
  map_.clear();
  hits_ = misses_ = 0;
}

}  // namespace xpusim
