// Ring-collective traffic per rank and its cost under the offered protocols.
#include "arch/link_config.h"

#include <limits>

namespace xpusim {

WireCost collective_wire(const Op& op) {
  const double p = double(op.ranks);
  if (op.ranks < 2) return {};
  if (op.collective == "all_reduce")
    return {2.0 * (p - 1) / p * op.message_bytes, 2 * (op.ranks - 1)};
  if (op.collective == "all_gather" || op.collective == "reduce_scatter" ||
      op.collective == "all_to_all")
    return {(p - 1) / p * op.message_bytes, op.ranks - 1};
  return {op.message_bytes, 1};  // send
}

CollectiveCost collective_cost(const LinkConfig& link, const std::vector<RingProtocol>& protocols,
                               const Op& op) {
  CollectiveCost c;
  c.wire = collective_wire(op);
  if (c.wire.steps == 0) return c;  // one rank: nothing to exchange
  double best = std::numeric_limits<double>::infinity();
  for (const auto& proto : protocols) {
    if (!(proto.efficiency > 0)) continue;
    const double fixed = proto.base_s + double(c.wire.steps) * proto.step_s;
    const double t = fixed + c.wire.bytes / (proto.efficiency * link.bw_bytes_per_s);
    if (t < best) {
      best = t;
      c.fixed_s = fixed;
      c.bw_fraction = proto.efficiency;
      c.protocol = proto.name;
    }
  }
  if (c.protocol.empty()) {  // no protocol offered: alpha-beta
    c.fixed_s = double(c.wire.steps) * link.latency_s;
    c.bw_fraction = 1;
    c.protocol = "alpha-beta";
  }
  return c;
}

}  // namespace xpusim
