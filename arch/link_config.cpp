// Ring-collective traffic per rank.
#include "arch/link_config.h"

namespace xpusim {

WireCost collective_wire(const Op& op) {
  const double p = double(op.ranks);
  if (op.ranks < 2) return {};
  if (op.collective == "all_reduce")
    return {2.0 * (p - 1) / p * op.message_bytes, 2 * (op.ranks - 1)};
  if (op.collective == "all_gather" || op.collective == "all_to_all")
    return {(p - 1) / p * op.message_bytes, op.ranks - 1};
  return {op.message_bytes, 1};  // send
}

}  // namespace xpusim
