// Presets: every built-in file validates, inheritance and includes merge as documented, and
// --set overrides apply with their own error location.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "arch/gpu/gpu_config.h"
#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "test_helpers.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

using testing::config_error_of;
using testing::TempDir;

TEST(Presets, TheDesignCardsPresetsExist) {
  ConfigStore store;
  for (const char* hw : {"a100", "h100", "h200", "tpu-v1", "tpu-v4", "tpu-v5e", "xeon-8480",
                         "epyc-9654", "spr-16c", "zen4-2c", "emr-16c", "epyc-milan-2c"}) {
    auto names = store.names_in("hw");
    EXPECT_NE(std::find(names.begin(), names.end(), hw), names.end()) << hw;
  }
}

TEST(Presets, EveryBuiltInFileValidates) {
  ConfigStore store;
  for (const auto& p : store.presets()) {
    SCOPED_TRACE(p.path);
    CfgNode tree = store.load_file(p.path);
    const CfgNode* type = tree.find("type");
    ASSERT_NE(type, nullptr);
    if (p.category.starts_with("hw")) {
      EXPECT_NO_THROW(make_device(tree, p.name));
    } else if (p.category == "models") {
      EXPECT_NO_THROW(parse_model(tree));
    } else if (p.category == "experiments") {
      ErrorList errors;
      parse_experiment(tree, errors);
      EXPECT_TRUE(errors.empty());
    }
    // A preset's name matches its file, so that `base: NAME` and `--hw NAME` agree; an alias (a
    // file that is `base: NAME` of the real preset, e.g. spr-16c) carries the real one's name.
    if (const CfgNode* n = tree.find("name")) {
      // Preset paths are relative to the repository (ctest runs from the build folder).
      std::ifstream in(std::string(XPUSIM_SOURCE_DIR) + "/" + p.path);
      ASSERT_TRUE(in) << p.path;
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const bool alias = n->scalar != p.name &&
                         text.find("\nbase: " + n->scalar + "\n") != std::string::npos &&
                         text.find("\nname:") == std::string::npos;
      if (!alias) EXPECT_EQ(n->scalar, p.name);
    }
  }
}

TEST(Presets, BaseInheritsAndOverridesKeyByKey) {
  ConfigStore store;
  CfgNode h200 = store.load("h200", "hw");
  CfgNode h100 = store.load("h100", "hw");
  EXPECT_EQ(h200.find_path("sm.count")->scalar, "132");     // inherited
  EXPECT_EQ(h200.find_path("hbm.bw")->scalar, "4.8 TB/s");  // overridden
  EXPECT_EQ(h200.find_path("hbm.latency")->scalar,
            h100.find_path("hbm.latency")->scalar);  // sibling kept
  EXPECT_EQ(h200.find("base"), nullptr);             // resolved away
  // The inherited value keeps the location of the file that wrote it.
  EXPECT_EQ(h200.find_path("sm.count")->loc.file, "configs/hw/gpu/h100.yaml");
  EXPECT_EQ(h200.find_path("hbm.bw")->loc.file, "configs/hw/gpu/h200.yaml");
}

TEST(Presets, IncludesMergeBeforeTheFileItself) {
  TempDir dir;
  dir.write("mem.yaml", "hbm:\n  bw: 1 TB/s\n  size: 1 GiB\n");
  auto f =
      dir.write("dev.yaml", "type: gpu\nbase: h100\ninclude: [mem.yaml]\nhbm:\n  size: 2 GiB\n");
  ConfigStore store;
  CfgNode t = store.load_file(f);
  EXPECT_EQ(t.find_path("hbm.bw")->scalar, "1 TB/s");   // from the include
  EXPECT_EQ(t.find_path("hbm.size")->scalar, "2 GiB");  // the file wins over its include
  EXPECT_EQ(t.find_path("sm.count")->scalar, "132");    // the base is below both
  EXPECT_NO_THROW(make_device(t, "dev"));
}

TEST(Presets, OverridesReplaceValuesAndCreatePaths) {
  ConfigStore store;
  CfgNode t = store.load("h100", "hw");
  ErrorList errors;
  apply_override(t, "hbm.bw=4 TB/s", errors);
  apply_override(t, "sm.tensor.fp8_per_clk=0", errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(t.find_path("hbm.bw")->scalar, "4 TB/s");
  EXPECT_EQ(t.find_path("hbm.bw")->loc.file, "<command line: --set hbm.bw=4 TB/s>");
  EXPECT_NO_THROW(make_device(t, "h100"));
  // The fingerprint follows the parameters, so cached results cannot leak across variants.
  EXPECT_NE(config_fingerprint(t), config_fingerprint(store.load("h100", "hw")));
  EXPECT_EQ(config_fingerprint(store.load("h100", "hw")),
            config_fingerprint(store.load("h100", "hw")));
}

TEST(Presets, BadOverridesAreReportedWithTheirOrigin) {
  ConfigStore store;
  CfgNode t = store.load("h100", "hw");
  ErrorList errors;
  apply_override(t, "novalue", errors);
  apply_override(t, "=3", errors);
  EXPECT_EQ(errors.issues().size(), 2u);
  apply_override(t, "sm.count=lots", errors);
  std::string msg = config_error_of([&] { make_device(t, "h100"); });
  EXPECT_NE(
      msg.find("<command line: --set sm.count=lots>: error: sm.count: 'lots' is not an integer"),
      std::string::npos)
      << msg;
}

TEST(Presets, ModelParameterCountsMatchPublishedFigures) {
  ConfigStore store;
  // Published: GPT-2 small 124 M (Radford et al. 2019; HF model card), LLaMA-2 7B 6.74 B
  // (6,738,415,616 in the HF checkpoint).
  const std::pair<const char*, double> published[] = {{"gpt2", 124.44e6}, {"llama2-7b", 6.738e9}};
  for (const auto& [name, count] : published) {
    ModelConfig m = parse_model(store.load(name, "models"));
    EXPECT_NEAR(m.parameter_count() / count, 1.0, 0.01) << name << ": " << m.parameter_count();
  }
}

}  // namespace
// Physics bounds every fitted value (issue 10): in each shipped GPU preset, no calibrated per-SM
// load rate exceeds the SM's L1 path, no fraction exceeds 1, HBM's efficiency is the measured read
// ceiling (at most 0.93 of the datasheet), and whole-chip load rates stay within HBM's peak.
TEST(Presets, CalibratedGpuValuesStayWithinPhysics) {
  ConfigStore store;
  const SchemaBase& schema = gpu_schema();
  ASSERT_GE(schema.calibrated_paths("h100-kernels").size(), 50u);
  for (const char* name : {"h100", "h200", "a100"}) {
    CfgNode tree = store.load(name, "hw");
    ErrorList errors;
    GpuConfig c = gpu_schema().parse(tree, errors);
    ASSERT_TRUE(errors.empty()) << name;
    check_gpu_physics(c, tree, errors);
    EXPECT_TRUE(errors.empty()) << name << ": " << (errors.empty() ? "" : errors.issues()[0].message);
    EXPECT_LE(c.hbm_efficiency, 0.93) << name;
    const double hbm_per_clk = c.hbm.bw_bytes_per_s / c.clock_hz;
    EXPECT_LE(c.sparse.bf16.slow_bytes_per_clk, hbm_per_clk) << name;
    EXPECT_LE(c.sparse.fp16.slow_bytes_per_clk, hbm_per_clk) << name;
    for (const auto& ew : c.ew.kernel) EXPECT_LE(ew.bw, 1.0) << name;
    EXPECT_LE(c.ew.other.bw, 1.0) << name;
  }
  // A per-SM rate above the L1 path is an error that names the key and the bound.
  CfgNode t = store.load("h100", "hw");
  ErrorList errors;
  apply_override(t, "sm_resources.load_bytes_per_clk=200", errors);
  ASSERT_TRUE(errors.empty());
  try {
    make_device(t, "fast-sm");
    FAIL() << "a per-SM load rate above the L1 path was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sm_resources.load_bytes_per_clk: 200 bytes per clock per "
                                         "SM is more than the SM's L1 load path"),
              std::string::npos)
        << e.what();
  }
  // What stays in L2 between calls cannot exceed it.
  CfgNode l2 = store.load("h200", "hw");
  apply_override(l2, "l2.reuse_whole=64 MiB", errors);
  ASSERT_TRUE(errors.empty());
  try {
    make_device(l2, "big-reuse");
    FAIL() << "an L2 reuse footprint above the L2 size was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("l2.reuse_whole: 6.71089e+07 B is more than the L2 holds"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace xpusim

