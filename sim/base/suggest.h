// "Did you mean ...?" suggestions for misspelt keys, preset names and options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xpusim {

size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidates (at most 3) within a distance that scales with the word's length;
// empty when nothing is close enough.
std::vector<std::string> closest_matches(std::string_view word,
                                         const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" when there is no close candidate.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace xpusim
