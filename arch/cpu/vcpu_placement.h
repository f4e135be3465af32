// Shared vCPUs of a virtual machine: some of a guest's vCPUs sit on physical cores whose SMT
// sibling runs another guest's work, and such a vCPU gets only part of its core (half the FMA
// ports' issue slots when the sibling computes too). A region's threads land on vCPUs as the
// guest's scheduler places them, so an operator on P of C vCPUs, S of them shared, meets k shared
// ones with the hypergeometric probability C(S,k) C(C-S,P-k) / C(C,P). For each k the shared
// cores form core groups of their own (the same blocks as the others under a static split), the
// join waits for them, and the operator's time is the expectation over k. What a shared vCPU
// runs slower is the part of its busy time that issues to the vector or matrix units (the
// sibling takes half the issue slots of the FMA ports); its DRAM and LLC loads, driven by the
// misses it keeps in flight, and its repacking copies keep their rate (STREAM on the host keeps
// its per-thread rate at every thread count). Times in seconds.
#pragma once

#include <vector>

#include "sim/engine/engine.h"
#include "sim/engine/multicore.h"

namespace xpusim {

struct Placement {
  double weight = 1;  // probability of this many shared vCPUs among the region's threads
  int shared = 0;     // shared vCPUs among them
  ParallelWork work;
};

// The placements of `work` (planned for `threads` full-rate cores) on `cores` vCPUs of which
// `shared_vcpus` run the `issue_share` of their busy time at `rate`; placements less likely
// than 1e-4 are dropped and the weights renormalised. The shared cores take the cores of the
// first groups first (the split puts the group with the most blocks first). One placement,
// `work` unchanged, when nothing is shared.
std::vector<Placement> vcpu_placements(const ParallelWork& work, int threads, int cores,
                                       int shared_vcpus, double rate, double issue_share = 1);

// The expected timing over placements: weighted means of times, bytes and occupancies; the bound
// of the most likely placement.
OpTiming expected_timing(const std::vector<double>& weights, const std::vector<OpTiming>& t);

}  // namespace xpusim
