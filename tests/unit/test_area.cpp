// First-order die area (issue 14 item 5, arch/area.h): the check against published die areas
// computed from the presets, the model's rules, its strict keys, and the area metrics of sweeps.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "arch/registry.h"
#include "cli_helpers.h"
#include "device_helpers.h"
#include "sim/config/config_store.h"
#include "sim/run/sweep.h"
#include "test_helpers.h"
#include "validation/validate.h"

namespace xpusim {
namespace {

using testing::CliResult;
using testing::config_error_of;
using testing::run_cli;
using testing::TempDir;

using testing::preset_device;

// The issue's check: A100 (826 mm²) and H100 (814 mm²) within 20 %, from the presets' own units.
// The overhead is fitted on the A100's die alone, so its row only shows the fit holds; the H100's
// row is the check. Every row with a published area is computed (and printed on failure).
TEST(Area, ModelledDieAreaWithinTwentyPercentOfPublishedA100AndH100) {
  ConfigStore store;
  const auto rows = area_rows(store);
  std::ostringstream table;
  print_area_rows(table, rows);
  bool a100 = false, h100 = false;
  for (const auto& r : rows) {
    if (r.hw == "a100" || r.hw == "h100") {
      EXPECT_LT(std::abs(r.error()), 0.20) << table.str();
      (r.hw == "a100" ? a100 : h100) = true;
    }
  }
  EXPECT_TRUE(a100 && h100) << table.str();
}

// One fitted value: every preset with an area model uses the overhead fitted on the A100.
TEST(Area, EveryPresetUsesTheOneOverheadFittedOnTheA100) {
  ConfigStore store;
  const std::string fitted = store.load("a100", "hw").find_path("area.overhead")->scalar;
  for (const auto& p : store.presets()) {
    if (!p.category.starts_with("hw/")) continue;
    const CfgNode tree = store.load(p.name, "hw");
    if (const CfgNode* o = tree.find_path("area.overhead")) EXPECT_EQ(o->scalar, fitted) << p.name;
  }
}

// The presets' overhead is what the fit on the A100's die gives (`validate --area --fit`): change
// a coefficient without refitting and this fails.
TEST(Area, PresetOverheadIsTheFitOnTheA100) {
  const auto a100 = preset_device("a100")->area();
  ASSERT_TRUE(a100.has_value());
  double overhead = 0;
  for (const auto& p : a100->parts)
    if (p.name == "overhead") overhead = p.mm2;
  double blocks = 0;
  for (const auto& p : a100->parts)
    if (p.name != "overhead" && p.name != "memory_phy" && p.name != "link_phy" &&
        p.name != "uncore")
      blocks += p.mm2;
  const double preset = overhead / blocks;
  EXPECT_NEAR(fit_area_overhead(*a100), preset, 5e-4);
  // Physics bounds it: utilisation 0.6-0.8 and 1.1-1.3x global wiring give 0.38-1.17.
  EXPECT_GE(preset, 0.375);
  EXPECT_LE(preset, 1.17);
}

TEST(Area, PartsSumToTheTotalAndScaleWithTheUnits) {
  const auto h100 = preset_device("h100")->area();
  ASSERT_TRUE(h100.has_value());
  double sum = 0;
  for (const auto& p : h100->parts) sum += p.mm2;
  EXPECT_NEAR(sum, h100->total_mm2, 1e-9 * h100->total_mm2);
  // Twice the SMs on the die: every per-SM part doubles, the L2, PHYs and uncore do not.
  const auto twice = preset_device("h100", {"area.die.cores=288"})->area();
  auto part = [](const AreaBreakdown& b, const std::string& name) {
    for (const auto& p : b.parts)
      if (p.name == name) return p.mm2;
    return 0.0;
  };
  for (const char* per_sm : {"matrix", "vector", "core_logic", "sram.rf", "sram.l1"})
    EXPECT_NEAR(part(*twice, per_sm), 2 * part(*h100, per_sm), 1e-9) << per_sm;
  for (const char* fixed : {"sram.l2", "memory_phy", "link_phy", "uncore"})
    EXPECT_DOUBLE_EQ(part(*twice, fixed), part(*h100, fixed)) << fixed;
  // The die holds at least what is enabled: more SMs than its 144 grow it, fewer keep it.
  const auto more = preset_device("h100", {"sm.count=288"})->area();
  EXPECT_NEAR(part(*more, "core_logic"), part(*twice, "core_logic"), 1e-9);
  const auto fewer = preset_device("h100", {"sm.count=100"})->area();
  EXPECT_DOUBLE_EQ(fewer->total_mm2, h100->total_mm2);
  // A denser node shrinks the logic and the SRAM, not the analog I/O.
  const auto dense =
      preset_device("h100", {"area.logic_density=3.68", "area.sram_density=2.572"})->area();
  EXPECT_NEAR(part(*dense, "matrix"), part(*h100, "matrix") / 2, 1e-9);
  EXPECT_NEAR(part(*dense, "sram.l2"), part(*h100, "sram.l2") / 2, 1e-9);
  EXPECT_DOUBLE_EQ(part(*dense, "memory_phy"), part(*h100, "memory_phy"));
}

// A matrix unit is as large as its most expensive format: formats share one datapath.
TEST(Area, MatrixUnitTakesItsMostExpensiveFormat) {
  const auto base = preset_device("h100")->area();
  auto matrix = [](const AreaBreakdown& b) {
    for (const auto& p : b.parts)
      if (p.name == "matrix") return p.mm2;
    return 0.0;
  };
  // An fp8 coefficient below bf16's per MAC x 2 MACs: bf16 still sets the area.
  const auto cheap = preset_device("h100", {"area.mac_mm2.fp8=3e-4"})->area();
  EXPECT_DOUBLE_EQ(matrix(*cheap), matrix(*base));
  // One above half of bf16's: the fp8 datapath (twice the MACs) is now the larger.
  const auto dear = preset_device("h100", {"area.mac_mm2.fp8=4e-4"})->area();
  EXPECT_NEAR(matrix(*dear), matrix(*base) * (2 * 4e-4) / 6.4e-4, 1e-9);
}

TEST(Area, NoAreaModelGivesNullAndMissingCoefficientsAreErrors) {
  EXPECT_FALSE(preset_device("tpu-v4")->area().has_value());
  const std::string e =
      config_error_of([] { preset_device("h100", {"area.sram_mm2_per_mib.l2=0"}); });
  EXPECT_NE(e.find("area.sram_mm2_per_mib.l2"), std::string::npos) << e;
  EXPECT_NE(e.find("60 MiB"), std::string::npos) << e;
  const std::string m = config_error_of([] { preset_device("tpu-v1", {"area.mac_mm2.int8=0"}); });
  EXPECT_NE(m.find("area.mac_mm2"), std::string::npos) << m;
  const std::string u = config_error_of([] { preset_device("h100", {"area.overhed=1"}); });
  EXPECT_NE(u.find("did you mean 'overhead'"), std::string::npos) << u;
}

TEST(Area, RunJsonCarriesAreaPerDevice) {
  TempDir dir;
  CliResult r = run_cli(
      "run --hw h100 --hw tpu-v4 --model llama2-7b --phase decode --batch 1 --ctx 128 "
      "--format json",
      dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  int seen = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);
    if (j["hw"] == "h100") {
      ASSERT_TRUE(j["area_mm2"].is_number()) << line.substr(0, 300);
      EXPECT_GT(j["area_mm2"].get<double>(), 600);
      EXPECT_TRUE(j["area"]["parts_mm2"].contains("sram.l2"));
      ++seen;
    } else if (j["hw"] == "tpu-v4") {
      EXPECT_TRUE(j["area_mm2"].is_null());  // no area parameters: null, never made up
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2) << r.out.substr(0, 500);
}

// A sweep over the SM count with an area constraint: the area grows with the SMs, and the points
// above the limit are infeasible and off the front.
TEST(Area, SweepConstrainsAreaOverTheSmCount) {
  TempDir dir;
  dir.write("a.yaml", R"(type: sweep
name: area
experiment: default
set: ["hw=[h100]", "phases=[decode]", "quant=[bf16]", "numerics=false", "hw.area.die.cores=0"]
parameters:
  - {key: hw.sm.count, values: [66, 132, 198, 264]}
constraints: [ok, area_mm2 <= 800]
objectives: [{maximize: tokens_per_s_per_mm2}, {minimize: latency_ms}]
)");
  CliResult r = run_cli("sweep a.yaml --store a.sqlite --format json", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  double last = 0;
  int feasible = 0, infeasible = 0;
  for (const auto& row : rows) {
    const double area = row["area_mm2"].get<double>();
    EXPECT_GT(area, last) << row.dump();  // in sm.count order: 66, 132, 198, 264
    last = area;
    EXPECT_NEAR(row["tokens_per_s_per_mm2"].get<double>(), row["tokens_per_s"].get<double>() / area,
                1e-9 * area);
    EXPECT_EQ(row["feasible"].get<bool>(), area <= 800) << row.dump();
    if (!row["feasible"].get<bool>()) EXPECT_FALSE(row["pareto"].get<bool>());
    (area <= 800 ? feasible : infeasible) += 1;
  }
  EXPECT_GT(feasible, 0);
  EXPECT_GT(infeasible, 0);
}

}  // namespace
}  // namespace xpusim
