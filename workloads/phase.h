// The inference phases a point times: a prefill forward over the prompt, one decode step at a
// given context, or a whole generation (the prefill, then every decode step).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xpusim {

enum class Phase { kPrefill, kDecode, kGenerate };
std::string_view phase_name(Phase p);  // "prefill", "decode", "generate"
std::optional<Phase> phase_from_name(std::string_view name);
const std::vector<std::string>& phase_names();  // in Phase order

}  // namespace xpusim
