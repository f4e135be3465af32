// Edit-distance based suggestions (Levenshtein, case-insensitive).
#include "sim/base/suggest.h"

#include <algorithm>
#include <cctype>

namespace xpusim {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest_matches(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    // A candidate that contains the word (or vice versa) is a good hint too: "tensor" ->
    // "tensor_core".
    bool contains = word.size() >= 3 &&
                    (c.find(word) != std::string::npos || word.find(c) != std::string::npos);
    if (d <= limit || contains) scored.emplace_back(contains ? std::min(d, limit) : d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [d, c] : scored) {
    if (out.size() == 3) break;
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto m = closest_matches(word, candidates);
  if (m.empty()) return "";
  std::string out = " (did you mean ";
  for (size_t i = 0; i < m.size(); ++i) {
    if (i) out += i + 1 == m.size() ? " or " : ", ";
    out += "'" + m[i] + "'";
  }
  return out + "?)";
}

}  // namespace xpusim
