// The link between devices (NVLink, ICI, PCIe, UPI) and the one collective model of every family:
// ring algorithms under the protocols a library offers (NCCL's LL and Simple on a GPU), each a
// fixed latency, a latency per ring step and a fraction of the link's bandwidth; the fastest for
// the message serves it. A family with no protocols configured gets the plain alpha-beta ring:
// each step pays the link latency, the bytes go at the per-direction bandwidth.
#pragma once

#include <string>
#include <vector>

#include "sim/config/schema.h"
#include "workloads/op.h"

namespace xpusim {

struct LinkConfig {
  std::string name;
  double bw_bytes_per_s = 0;  // per direction, per device
  double latency_s = 0;       // per algorithm step (alpha)
};

template <class Cfg, class... M>
void declare_link(Schema<Cfg>& s, M... path) {
  s.text("link.name", "", "interconnect between devices (for collectives), e.g. NVLink4", path...,
         &LinkConfig::name);
  s.quantity("link.bw", Unit::kBytesPerSecond, kRequired, Range{1e6, 1e14},
             "link bandwidth per direction per device, used by ring collectives", path...,
             &LinkConfig::bw_bytes_per_s);
  s.quantity("link.latency", Unit::kSeconds, kRequired, Range{0, 1e-2},
             "latency of one step of a collective (alpha)", path..., &LinkConfig::latency_s);
}

// What one rank puts on its link for a collective, and how many latency-bound steps it takes.
struct WireCost {
  double bytes = 0;
  int steps = 0;
};
// all_reduce (ring: reduce-scatter + all-gather): 2(p-1)/p of the message, 2(p-1) steps;
// all_gather of a total of `message_bytes` (its output) and reduce_scatter (of its input):
// (p-1)/p, p-1 steps; all_to_all: (p-1)/p, p-1 steps;
// send: the message, 1 step.
WireCost collective_wire(const Op& op);

struct RingProtocol {
  std::string name;       // "LL", "Simple"
  double base_s = 0;      // fixed latency of a collective
  double step_s = 0;      // latency per ring step
  double efficiency = 0;  // fraction of the link bandwidth reached; 0 = not offered
};

// What the engine runs for a collective on one rank: a fixed latency, then `wire.bytes` through
// the link at `bw_fraction` of its bandwidth.
struct CollectiveCost {
  WireCost wire;
  double fixed_s = 0;
  double bw_fraction = 1;
  std::string protocol;  // the protocol chosen, or "alpha-beta"
};
CollectiveCost collective_cost(const LinkConfig& link, const std::vector<RingProtocol>& protocols,
                               const Op& op);

}  // namespace xpusim
