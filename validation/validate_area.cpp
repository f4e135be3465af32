// The area check (issue 14 item 5): each hardware preset with a published die area, modelled by
// the first-order area model (arch/area.h) from the preset's own units, against that figure.
#include <fmt/format.h>

#include "arch/registry.h"
#include "validation/validate.h"

namespace xpusim {

double AreaRow::error() const {
  return area.published_mm2 > 0 ? area.total_mm2 / area.published_mm2 - 1.0 : 0.0;
}

std::vector<AreaRow> area_rows(const ConfigStore& store, const std::vector<std::string>& sets) {
  std::vector<AreaRow> rows;
  for (const auto& p : store.presets()) {
    if (!p.category.starts_with("hw/")) continue;
    CfgNode tree = store.load(p.name, "hw");
    if (tree.find_path("area.node")) {
      ErrorList errors;
      for (const auto& s : sets) apply_override(tree, s, errors, "--set " + s);
      errors.throw_if_any();
    }
    const CfgNode* n = tree.find("name");
    const std::string name = n && n->is_scalar() && !n->scalar.empty() ? n->scalar : p.name;
    const auto device = make_device(tree, name);
    const auto area = device->area();
    if (!area || area->published_mm2 <= 0) continue;
    rows.push_back({name, device->family(), *area});
  }
  return rows;
}

double fit_area_overhead(const AreaBreakdown& b) {
  double blocks = 0, fixed = 0;
  for (const auto& p : b.parts) {
    if (p.name == "memory_phy" || p.name == "link_phy" || p.name == "uncore")
      fixed += p.mm2;
    else if (p.name != "overhead")
      blocks += p.mm2;
  }
  return blocks > 0 ? (b.published_mm2 - fixed) / blocks - 1.0 : 0.0;
}

void print_area_rows(std::ostream& out, const std::vector<AreaRow>& rows) {
  out << "# xpusim validate --area: first-order die area (arch/area.h) vs published\n";
  out << fmt::format("{:<12} {:<4} {:<12} {:>9} {:>9} {:>7}  {}\n", "hw", "fam", "node",
                     "model_mm2", "publ_mm2", "error", "parts (mm2)");
  for (const auto& r : rows) {
    std::string parts;
    for (const auto& p : r.area.parts)
      parts += fmt::format("{}{} {:.0f}", parts.empty() ? "" : ", ", p.name, p.mm2);
    out << fmt::format("{:<12} {:<4} {:<12} {:>9.0f} {:>9.0f} {:>+6.1f}%  {}\n", r.hw, r.family,
                       r.area.node, r.area.total_mm2, r.area.published_mm2, r.error() * 100, parts);
  }
}

}  // namespace xpusim
