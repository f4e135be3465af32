// Names of the inference phases, as written in experiment files, options and outputs.
#include "workloads/phase.h"

namespace xpusim {

const std::vector<std::string>& phase_names() {
  static const std::vector<std::string> names = {"prefill", "decode", "generate"};
  return names;
}

std::string_view phase_name(Phase p) { return phase_names().at(static_cast<size_t>(p)); }

std::optional<Phase> phase_from_name(std::string_view name) {
  const auto& names = phase_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Phase>(i);
  return std::nullopt;
}

}  // namespace xpusim
