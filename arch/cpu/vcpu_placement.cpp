// Shared vCPUs: the hypergeometric placements of a region's threads and their expectation
// (vcpu_placement.h).
#include "arch/cpu/vcpu_placement.h"

#include <algorithm>
#include <cmath>

namespace xpusim {
namespace {

double log_choose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

}  // namespace

std::vector<Placement> vcpu_placements(const ParallelWork& work, int threads, int cores,
                                       int shared_vcpus, double rate, double issue_share) {
  const int S = std::clamp(shared_vcpus, 0, std::max(0, cores));
  if (S == 0 || rate >= 1.0 || work.groups.empty()) return {{1.0, 0, work}};
  // Only the cores that run blocks can hold the region up (a small op leaves some of the
  // `threads` idle), so the draw is over them.
  int busy = 0;
  for (const CoreGroup& g : work.groups) busy += g.cores;
  const int P = std::clamp(std::min(busy, threads), 1, std::max(1, cores));
  std::vector<Placement> out;
  double total = 0;
  for (int k = std::max(0, P - (cores - S)); k <= std::min(S, P); ++k) {
    const double p =
        std::exp(log_choose(S, k) + log_choose(cores - S, P - k) - log_choose(cores, P));
    if (p < 1e-4) continue;
    Placement pl;
    pl.weight = p;
    pl.shared = k;
    pl.work.overhead_s = work.overhead_s;
    int left = k;
    for (const CoreGroup& g : work.groups) {
      const int slow = std::min(left, g.cores);
      left -= slow;
      if (g.cores - slow > 0) {
        pl.work.groups.push_back(g);
        pl.work.groups.back().cores = g.cores - slow;
      }
      if (slow > 0) {
        CoreGroup s = g;
        s.cores = slow;
        const double f = std::clamp(issue_share, 0.0, 1.0);
        s.compute_s = g.compute_s * ((1 - f) + f / rate);
        pl.work.groups.push_back(std::move(s));
      }
    }
    total += p;
    out.push_back(std::move(pl));
  }
  for (Placement& pl : out) pl.weight /= total;
  return out;
}

OpTiming expected_timing(const std::vector<double>& weights, const std::vector<OpTiming>& t) {
  if (t.size() == 1) return t[0];
  OpTiming e;
  size_t likely = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double w = weights[i];
    if (w > weights[likely]) likely = i;
    e.time_s += w * t[i].time_s;
    e.overhead_s += w * t[i].overhead_s;
    e.compute_s += w * t[i].compute_s;
    e.memory_s += w * t[i].memory_s;
    e.stall_s += w * t[i].stall_s;
    e.bytes_per_level.resize(std::max(e.bytes_per_level.size(), t[i].bytes_per_level.size()));
    e.busy_per_level.resize(std::max(e.busy_per_level.size(), t[i].busy_per_level.size()));
    for (size_t l = 0; l < t[i].bytes_per_level.size(); ++l)
      e.bytes_per_level[l] += w * t[i].bytes_per_level[l];
    for (size_t l = 0; l < t[i].busy_per_level.size(); ++l)
      e.busy_per_level[l] += w * t[i].busy_per_level[l];
  }
  e.tiles = t[likely].tiles;
  e.transactions = t[likely].transactions;
  e.bound = t[likely].bound;
  return e;
}

}  // namespace xpusim
