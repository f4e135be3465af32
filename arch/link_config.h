// The link between devices (NVLink, ICI, PCIe, UPI) and the alpha-beta cost of collectives on it:
// ring algorithms, each step paying the link latency, the bytes at the per-direction bandwidth.
#pragma once

#include <string>

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
// all_gather of a total of `message_bytes`: (p-1)/p, p-1 steps; all_to_all: (p-1)/p, p-1 steps;
// send: the message, 1 step.
WireCost collective_wire(const Op& op);

}  // namespace xpusim
