// First-order die area (issue 14 item 5), one method for every family, in mm². Each unit the
// preset declares costs its published or estimated area at a reference node (TSMC N7), scaled by
// the preset's process node (logic and SRAM scale differently); analog I/O does not scale:
//
//   blocks = (MACs·a_mac + FP32 lanes·a_lane + cores·a_core) / logic_density
//            + Σ_kind MiB(kind)·a_sram(kind) / sram_density
//   die    = blocks·(1 + overhead) + memory PHYs·a_phy + links·a_link + uncore
//
// `overhead` is what no unit owns: global wiring, the crossbar or NoC between cores and the
// shared cache, clock and power grids, placement whitespace. It is the one fitted value (on one
// published die; README, "Area"). A matrix unit is as large as its most expensive format: the
// formats share one datapath (an int8 MAC is half of a bf16 lane), so its area is the largest of
// MACs(format)·a_mac(format) over the formats with a coefficient.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "arch/dtype_rates.h"
#include "sim/config/schema.h"

namespace xpusim {

// The kinds of on-die SRAM, each with its own area per MiB: register files (multi-ported),
// L1/shared memory (banked for bandwidth), L2 (GPU, shared; CPU, private), the CPU's LLC, and a
// TPU's software-managed buffers (unified buffer, VMEM, CMEM, accumulators, operand SRAMs).
enum class SramKind { kRf, kL1, kL2, kLlc, kBuffer };
inline constexpr std::array<const char*, 5> kSramKindNames = {"rf", "l1", "l2", "llc", "buffer"};

struct AreaConfig {
  std::string node;            // the process, e.g. "TSMC N7"; empty = no area model
  double logic_density = 1;    // logic density relative to TSMC N7
  double sram_density = 1;     // SRAM density relative to TSMC N7
  DtypeRates mac_mm2;          // matrix unit: mm² per MAC by format at N7 (0 = shares another's)
  double vector_lane_mm2 = 0;  // per FP32 FMA lane of the vector unit at N7
  double core_mm2 = 0;  // per core/SM at N7: control, schedulers, LSU, SFU, FP64/INT, front end
  std::array<double, kSramKindNames.size()> sram_mm2_per_mib{};  // at N7, by SramKind
  double memory_phy_mm2 = 0;  // per HBM stack or DDR channel: PHY and controller (not scaled)
  double link_phy_mm2 = 0;    // per chip-to-chip link: SerDes and controller (not scaled)
  double uncore_mm2 = 0;      // fixed: host interface, management, media engines (not scaled)
  double overhead = 0;        // fraction of the blocks added for what no unit owns
  double published_mm2 = 0;   // the die's published area, for the check (0 = none)
  // What the die holds where the product enables less (harvested parts); the model takes the
  // larger of these and what is configured, so a die never holds less than is enabled.
  struct Die {
    int64_t cores = 0;
    double shared_sram_bytes = 0;  // the shared cache physically on the die (GPU L2, CPU LLC)
    int64_t memory_phys = 0, links = 0;
  } die;
  bool enabled() const { return !node.empty(); }
};

// What a family's preset puts on the die, in counts (the family fills it from its config).
struct AreaInputs {
  int64_t cores = 0;        // SMs, CPU cores, TensorCores
  DtypeRates macs_per_clk;  // matrix-unit MACs per clock, whole die, by format
  double vector_lanes = 0;  // FP32 FMA lanes, whole die
  std::array<double, kSramKindNames.size()> sram_bytes{};  // whole die, by SramKind
  int64_t memory_phys = 0, links = 0;
};

struct AreaPart {
  std::string name;  // "matrix", "sram.l2", "overhead", ...
  double mm2 = 0;
};
struct AreaBreakdown {
  std::string node;
  std::vector<AreaPart> parts;  // in a fixed order; parts of 0 mm² are left out
  double total_mm2 = 0;
  double published_mm2 = 0;  // 0 = none
};

// The die's area from its contents; nullopt when the preset has no area model.
std::optional<AreaBreakdown> die_area(const AreaConfig& a, const AreaInputs& in);

// Strictness: with a node given, every unit the die has needs its coefficient (a matrix unit a
// coefficient for one of its formats, SRAM of each kind present its area per MiB, ...).
void check_area(const AreaConfig& a, const AreaInputs& in, const CfgNode& tree, ErrorList& errors);

// Declares area.* for a family: `kinds` are the SRAM kinds its presets hold; `core_what` says
// what one core is on this family; `path` leads from the family's config to its AreaConfig.
template <class Cfg, class... M>
void declare_area(Schema<Cfg>& s, const std::vector<SramKind>& kinds, const std::string& core_what,
                  M... path) {
  s.text("area.node", "",
         "process node of the die, e.g. 'TSMC N7' (a label); empty = no area model (area_mm2 "
         "null)",
         path..., &AreaConfig::node);
  s.real("area.logic_density", "1", Range{0.01, 10},
         "logic density of the node relative to TSMC N7 (N5/4N: 1.84, TSMC IEDM 2019)", path...,
         &AreaConfig::logic_density);
  s.real("area.sram_density", "1", Range{0.01, 10},
         "SRAM density of the node relative to TSMC N7 (ratio of high-density bitcells: N7 0.027 "
         "um², N5 0.021 um²)",
         path..., &AreaConfig::sram_density);
  auto mac = [&](const char* f, double DtypeRates::*field) {
    s.real(std::string("area.mac_mm2.") + f, "0", Range{0, 1},
           std::string("matrix unit: mm² per ") + f +
               " MAC at N7; the unit's area is the largest MACs x this over its formats (0: the "
               "format shares the datapath of another)",
           path..., &AreaConfig::mac_mm2, field);
  };
  mac("fp32", &DtypeRates::fp32);
  mac("tf32", &DtypeRates::tf32);
  mac("bf16", &DtypeRates::bf16);
  mac("fp16", &DtypeRates::fp16);
  mac("fp8", &DtypeRates::fp8);
  mac("int8", &DtypeRates::int8);
  mac("int4", &DtypeRates::int4);
  s.real("area.vector_lane_mm2", "0", Range{0, 1},
         "vector unit: mm² per FP32 FMA lane at N7 (CUDA core, VPU lane, AVX lane)", path...,
         &AreaConfig::vector_lane_mm2);
  s.real("area.core_mm2", "0", Range{0, 1000},
         "mm² per " + core_what + " at N7 for the logic no other key counts", path...,
         &AreaConfig::core_mm2);
  for (SramKind k : kinds) {
    const std::string name = kSramKindNames[size_t(k)];
    s.real("area.sram_mm2_per_mib." + name, "0", Range{0, 100},
           "mm² per MiB of " + name + " SRAM at N7 (bitcell / array efficiency, ECC)", path...,
           &AreaConfig::sram_mm2_per_mib, size_t(k));
  }
  s.real("area.memory_phy_mm2", "0", Range{0, 1000},
         "mm² per memory PHY (an HBM stack's or a DDR channel's PHY and controller; not scaled "
         "with the node)",
         path..., &AreaConfig::memory_phy_mm2);
  s.real("area.link_phy_mm2", "0", Range{0, 1000},
         "mm² per chip-to-chip link (NVLink, ICI, UPI, xGMI: SerDes and controller; not scaled)",
         path..., &AreaConfig::link_phy_mm2);
  s.real("area.uncore_mm2", "0", Range{0, 10000},
         "fixed mm²: host interface (PCIe), management, media engines, fuses (not scaled)", path...,
         &AreaConfig::uncore_mm2);
  s.real("area.overhead", "0", Range{0, 3},
         "fraction of the blocks' area added for what no unit owns: global wiring, the crossbar "
         "or NoC, clock and power grids, placement whitespace, pipeline registers the unit figures "
         "leave out",
         path..., &AreaConfig::overhead);
  s.real("area.published_mm2", "0", Range{0, 100000},
         "the die's published area, checked against the model by `xpusim validate --area` (0 = "
         "none)",
         path..., &AreaConfig::published_mm2);
  s.integer("area.die.cores", "0", Range{0, 1000000},
            "the " + core_what +
                "s physically on the die where the product enables fewer (the model takes the "
                "larger of this and the configured count; 0 = as configured)",
            path..., &AreaConfig::die, &AreaConfig::Die::cores);
  s.quantity("area.die.shared_sram", Unit::kBytes, "0 B", Range{0, 1e12},
             "the shared cache physically on the die (GPU L2, CPU LLC, TPU buffers) where the "
             "product enables less (the larger of this and the configured size; 0 = as "
             "configured)",
             path..., &AreaConfig::die, &AreaConfig::Die::shared_sram_bytes);
  s.integer("area.die.memory_phys", "0", Range{0, 1000},
            "memory PHYs on the die (HBM stacks or DDR channels), enabled or not", path...,
            &AreaConfig::die, &AreaConfig::Die::memory_phys);
  s.integer("area.die.links", "0", Range{0, 1000},
            "chip-to-chip links on the die (NVLink links, ICI ports)", path..., &AreaConfig::die,
            &AreaConfig::Die::links);
}

}  // namespace xpusim
