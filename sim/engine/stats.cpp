// Statistics container and its JSON and CSV writers.
#include "sim/engine/stats.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sim/base/csv.h"

namespace xpusim {

void StatsTree::add(std::string path, double value, std::string unit, std::string description) {
  entries_.push_back({std::move(path), value, std::move(unit), std::move(description)});
}

const Stat* StatsTree::find(std::string_view path) const {
  for (const auto& s : entries_)
    if (s.path == path) return &s;
  return nullptr;
}

void write_stats_json(const StatsTree& stats, std::ostream& out) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  for (const auto& s : stats.entries()) {
    nlohmann::ordered_json* cur = &root;
    size_t start = 0;
    while (true) {
      size_t dot = s.path.find('.', start);
      std::string part =
          s.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      cur = &(*cur)[part];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    *cur = {{"value", s.value}, {"unit", s.unit}, {"description", s.description}};
  }
  out << root.dump(2) << "\n";
}

void write_stats_csv(const StatsTree& stats, std::ostream& out) {
  out << "path,value,unit,description\n";
  for (const auto& s : stats.entries())
    out << csv_escape(s.path) << ',' << fmt::format("{:.9g}", s.value) << ',' << csv_escape(s.unit)
        << ',' << csv_escape(s.description) << '\n';
}

}  // namespace xpusim
