// A statistics tree: each entry has a dotted path that mirrors the modules, a value, a unit and
// a description. Order is the order of insertion (stable); writers are separate functions.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace xpusim {

struct Stat {
  std::string path;  // "h100.llama2-7b.decode.ops.attn.qkv.time"
  double value = 0;
  std::string unit;  // "s", "B", "FLOP", "1"
  std::string description;
};

class StatsTree {
 public:
  void add(std::string path, double value, std::string unit, std::string description);
  const std::vector<Stat>& entries() const { return entries_; }
  const Stat* find(std::string_view path) const;

 private:
  std::vector<Stat> entries_;
};

// Nested JSON objects by path; each leaf is {"value", "unit", "description"}.
void write_stats_json(const StatsTree& stats, std::ostream& out);
// path,value,unit,description
void write_stats_csv(const StatsTree& stats, std::ostream& out);

}  // namespace xpusim
