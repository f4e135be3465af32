// First-order die area: the sum over the declared units at the reference node, scaled by the
// preset's node, plus what no unit owns and the analog I/O (see arch/area.h).
#include "arch/area.h"

#include <fmt/format.h>

#include <algorithm>

namespace xpusim {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// The matrix unit at N7: the most expensive of its formats (they share one datapath).
double matrix_mm2(const AreaConfig& a, const AreaInputs& in) {
  double best = 0;
  for (DType d : {DType::kFp32, DType::kTf32, DType::kBf16, DType::kFp16, DType::kFp8, DType::kInt8,
                  DType::kInt4})
    best = std::max(best, in.macs_per_clk.per_clk(d) * a.mac_mm2.per_clk(d));
  return best;
}

bool has_matrix(const AreaInputs& in) {
  const DtypeRates& r = in.macs_per_clk;
  return r.fp32 + r.tf32 + r.bf16 + r.fp16 + r.fp8 + r.int8 + r.int4 > 0;
}

}  // namespace

std::optional<AreaBreakdown> die_area(const AreaConfig& a, const AreaInputs& in) {
  if (!a.enabled()) return std::nullopt;
  AreaBreakdown b;
  b.node = a.node;
  b.published_mm2 = a.published_mm2;
  auto add = [&](std::string name, double mm2) {
    if (mm2 > 0) b.parts.push_back({std::move(name), mm2});
  };
  const double logic = 1.0 / a.logic_density, sram = 1.0 / a.sram_density;
  double blocks = 0;
  auto block = [&](std::string name, double mm2) {
    blocks += mm2;
    add(std::move(name), mm2);
  };
  block("matrix", matrix_mm2(a, in) * logic);
  block("vector", in.vector_lanes * a.vector_lane_mm2 * logic);
  block("core_logic", double(in.cores) * a.core_mm2 * logic);
  for (size_t k = 0; k < kSramKindNames.size(); ++k)
    block(std::string("sram.") + kSramKindNames[k],
          in.sram_bytes[k] / kMiB * a.sram_mm2_per_mib[k] * sram);
  add("overhead", blocks * a.overhead);
  add("memory_phy", double(in.memory_phys) * a.memory_phy_mm2);
  add("link_phy", double(in.links) * a.link_phy_mm2);
  add("uncore", a.uncore_mm2);
  for (const auto& p : b.parts) b.total_mm2 += p.mm2;
  return b;
}

void check_area(const AreaConfig& a, const AreaInputs& in, const CfgNode& tree, ErrorList& errors) {
  if (!a.enabled()) return;
  auto need = [&](bool missing, const std::string& key, const std::string& why) {
    if (!missing) return;
    const CfgNode* n = tree.find_path("area");
    errors.add(n ? n->loc : tree.loc, key,
               fmt::format("required with area.node: {} (a positive number)", why));
  };
  need(has_matrix(in) && matrix_mm2(a, in) <= 0, "area.mac_mm2",
       "the matrix unit's area per MAC for one of the formats it runs");
  need(in.vector_lanes > 0 && a.vector_lane_mm2 <= 0, "area.vector_lane_mm2",
       "the vector unit's area per FP32 lane");
  need(in.cores > 0 && a.core_mm2 <= 0, "area.core_mm2", "the per-core logic");
  for (size_t k = 0; k < kSramKindNames.size(); ++k)
    need(in.sram_bytes[k] > 0 && a.sram_mm2_per_mib[k] <= 0,
         std::string("area.sram_mm2_per_mib.") + kSramKindNames[k],
         fmt::format("the die holds {:g} MiB of it", in.sram_bytes[k] / kMiB));
  need(in.memory_phys <= 0, "area.die.memory_phys", "the memory PHYs on the die");
  need(in.memory_phys > 0 && a.memory_phy_mm2 <= 0, "area.memory_phy_mm2",
       "the area of one memory PHY");
  need(in.links > 0 && a.link_phy_mm2 <= 0, "area.link_phy_mm2", "the area of one link");
}

}  // namespace xpusim
