#include "sim/base/hash.h"

#include <fmt/format.h>

namespace xpusim {

std::string Fnv1a64::hex() const { return fmt::format("{:016x}", h_); }

}  // namespace xpusim
