// Op-result cache: batches the misses into one simulation.
#include "sim/run/op_cache.h"

#include <fmt/format.h>

namespace xpusim {

namespace {

// SystemC time is 64 bits of picoseconds (about 213 days); operators far beyond any real one
// (1e20 FLOP is 100 s on the fastest chip here, and 1e17 B is 100 PB) are refused as values
// instead of overflowing the simulation clock.
constexpr double kMaxOpFlops = 1e20;
constexpr double kMaxOpBytes = 1e17;

}  // namespace

Evaluation OpCache::run(Device& device, const std::vector<Op>& ops) {
  for (const auto& op : ops) {
    if (op.flops > kMaxOpFlops || op.dequant_flops > kMaxOpFlops ||
        op.total_bytes() > kMaxOpBytes) {
      Evaluation ev;
      ev.ok = false;
      ev.reason = fmt::format(
          "{} is too large to simulate: {:.3g} FLOP and {:.3g} B (limits {:.0e} FLOP, {:.0e} B)",
          op.name, op.flops, op.total_bytes(), kMaxOpFlops, kMaxOpBytes);
      return ev;
    }
  }
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
