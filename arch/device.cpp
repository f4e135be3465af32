// Shared pieces of the device contract.
#include "arch/device.h"

namespace xpusim {

void fill_engine_stats(OpResult& r, const OpTiming& t, const std::vector<std::string>& levels) {
  r.compute_busy_s = t.compute_s;
  r.stall_s = t.stall_s;
  r.overhead_s = t.overhead_s;
  r.tiles = t.tiles;
  r.transactions = t.transactions;
  r.busy_per_level.clear();
  for (size_t l = 0; l < levels.size() && l < t.busy_per_level.size(); ++l)
    r.busy_per_level.emplace_back(levels[l], t.busy_per_level[l]);
}

}  // namespace xpusim
