// Every class of configuration error gets file:line:col, the key path, the value and what is
// allowed; all errors of a file are reported together; nothing crashes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "test_helpers.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

using testing::config_error_of;
using testing::TempDir;

std::string check_hw(const std::string& file) {
  return config_error_of([&] {
    ConfigStore store;
    make_device(store.load_file(file), "test");
  });
}

TEST(ConfigErrors, CorruptYamlPointsAtTheLine) {
  TempDir dir;
  auto f = dir.write("corrupt.yaml", "type: gpu\nsm: [1, 2\nclock: 1 GHz\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
}

TEST(ConfigErrors, TabsAndBadIndentationAreYamlErrors) {
  TempDir dir;
  auto f = dir.write("tabs.yaml", "type: gpu\nsm:\n  count: 1\n count: 2\n");
  EXPECT_NE(check_hw(f).find("invalid YAML"), std::string::npos);
}

TEST(ConfigErrors, FileThatIsNotAMap) {
  TempDir dir;
  auto f = dir.write("list.yaml", "- 1\n- 2\n");
  EXPECT_NE(check_hw(f).find("must hold a map"), std::string::npos);
}

TEST(ConfigErrors, DuplicateKeysAreRejected) {
  TempDir dir;
  auto f = dir.write("dup.yaml", "type: gpu\nbase: h100\nclock: 1 GHz\nclock: 2 GHz\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":4:1: error: clock: duplicate key"), std::string::npos) << msg;
}

TEST(ConfigErrors, WrongTypesNameTheExpectedType) {
  TempDir dir;
  auto f = dir.write(
      "types.yaml",
      "type: gpu\nbase: h100\nsm:\n  count: many\n  tensor:\n    sparse_2_4: maybe\nclock: [1, 2]\n"
      "hbm: 3\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":4:10: error: sm.count: 'many' is not an integer"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":6:17: error: sm.tensor.sparse_2_4: 'maybe' is not a boolean"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":7:8: error: clock: expected frequency (Hz), got a list"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":8:6: error: hbm: expected a map of parameters, got a value"),
            std::string::npos)
      << msg;
}

TEST(ConfigErrors, NegativeAndZeroSizesAreOutOfRange) {
  TempDir dir;
  auto f = dir.write("neg.yaml",
                     "type: gpu\nbase: h100\nhbm:\n  size: 0 B\n  bw: -1 TB/s\nsm:\n  count: 0\n");
  std::string msg = check_hw(f);
  EXPECT_NE(
      msg.find(f + ":4:9: error: hbm.size: value 0 B is out of range; allowed: 1 B .. 1000 TB"),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":5:7: error: hbm.bw: value -1 TB/s is out of range"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":7:10: error: sm.count: value 0 is out of range; allowed: 1 .. 100000"),
            std::string::npos)
      << msg;
}

TEST(ConfigErrors, AbsurdValuesAreRejected) {
  TempDir dir;
  auto f =
      dir.write("absurd.yaml", "type: cpu\nbase: xeon-8480\ncores: 1000000000\nclock: 50 THz\n");
  std::string msg = check_hw(f);
  EXPECT_NE(
      msg.find(f + ":3:8: error: cores: value 1000000000 is out of range; allowed: 1 .. 100000"),
      std::string::npos)
      << msg;
  EXPECT_NE(
      msg.find(f + ":4:8: error: clock: value 50 THz is out of range; allowed: 10 MHz .. 100 GHz"),
      std::string::npos)
      << msg;
}

TEST(ConfigErrors, MissingFilesNameTheReference) {
  TempDir dir;
  EXPECT_NE(check_hw(dir.path("nope.yaml")).find("nope.yaml: error: file not found"),
            std::string::npos);
  // A file named inside another is reported where it is named, with where it was looked for.
  auto f = dir.write("child.yaml", "type: gpu\nbase: ./missing.yaml\n");
  EXPECT_NE(check_hw(f).find(f + ":2:7: error: no file './missing.yaml' (a relative path is "
                                 "looked up beside " + f + ": " + dir.path("missing.yaml") + ")"),
            std::string::npos)
      << check_hw(f);
  auto g = dir.write("inc.yaml", "type: gpu\ninclude: [gone.yaml]\n");
  EXPECT_NE(check_hw(g).find(g + ":2:11: error: no file 'gone.yaml'"), std::string::npos);
}

TEST(ConfigErrors, UnknownPresetSuggestsTheClosest) {
  TempDir dir;
  auto f = dir.write("child.yaml", "type: gpu\nbase: h10\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":2:7: error: no preset or file named 'h10'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'h100'"), std::string::npos) << msg;
}

TEST(ConfigErrors, UnknownKeysSuggestTheClosestAndListTheAllowed) {
  TempDir dir;
  auto f = dir.write("typo.yaml",
                     "type: gpu\nbase: h100\nclokc: 2 GHz\nsm:\n  tensr:\n    bf16_per_clk: 1\n"
                     "hbm:\n  bandwidth: 3 TB/s\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":3:1: error: clokc: unknown key (did you mean 'clock'?)"),
            std::string::npos)
      << msg;
  EXPECT_NE(
      msg.find(f +
               ":5:3: error: sm.tensr: unknown key (did you mean 'tensor'?); allowed here: count, "
               "fp32_per_clk, l1_bytes_per_clk, l1_size, shared_mem, tensor"),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find(f + ":8:3: error: hbm.bandwidth: unknown key"), std::string::npos) << msg;
}

TEST(ConfigErrors, UnknownTypeSuggests) {
  TempDir dir;
  auto f = dir.write("t.yaml", "type: gpuu\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find(f + ":1:7: error: type: 'gpuu' is not a hardware type"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("did you mean 'gpu'"), std::string::npos) << msg;
}

TEST(ConfigErrors, MissingRequiredParametersAreListed) {
  TempDir dir;
  auto f = dir.write("empty.yaml", "type: tpu\n");
  std::string msg = check_hw(f);
  EXPECT_NE(msg.find("clock: missing required parameter (frequency (Hz), 10 MHz .. 100 GHz)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("mxu.rows: missing required parameter"), std::string::npos) << msg;
}

TEST(ConfigErrors, AllErrorsAreReportedAtOnceInReadingOrder) {
  TempDir dir;
  auto f = dir.write(
      "many.yaml",
      "type: gpu\nbase: h100\nclock: 1\nsm:\n  count: -1\nhbm:\n  size: lots\nbogus: 1\n");
  try {
    ConfigStore store;
    make_device(store.load_file(f), "x");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.issues().size(), 4u) << e.what();
    for (size_t i = 1; i < e.issues().size(); ++i)
      EXPECT_LT(e.issues()[i - 1].loc.line, e.issues()[i].loc.line) << e.what();
  }
}

TEST(ConfigErrors, InheritanceCyclesAreErrorsNotHangs) {
  TempDir dir;
  dir.write("a.yaml", "type: gpu\nbase: ./b.yaml\n");
  auto b = dir.write("b.yaml", "type: gpu\nbase: ./a.yaml\n");
  EXPECT_NE(check_hw(b).find("inheritance cycle"), std::string::npos);
  auto self = dir.write("self.yaml", "type: gpu\ninclude: self.yaml\n");
  EXPECT_NE(check_hw(self).find("inheritance cycle"), std::string::npos);
}

TEST(ConfigErrors, ModelChecksAcrossFields) {
  TempDir dir;
  auto f = dir.write("m.yaml", "type: model\nbase: llama2-7b\nkv_heads: 5\nexperts: 4\n");
  std::string msg = config_error_of([&] { parse_model(ConfigStore().load_file(f)); });
  EXPECT_NE(
      msg.find(f + ":3:11: error: kv_heads: 32 query heads cannot be grouped over 5 kv heads"),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find("experts > 0 is required for family moe, and only for it"), std::string::npos)
      << msg;
}

TEST(ConfigErrors, BinaryGarbageDoesNotCrash) {
  TempDir dir;
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919) % 256);
  auto f = dir.write("junk.yaml", junk);
  try {
    ConfigStore store;
    make_device(store.load_file(f), "x");
    FAIL() << "garbage accepted";
  } catch (const ConfigError&) {
  }
}

TEST(ConfigErrors, AliasBombsStopInsteadOfHanging) {
  TempDir dir;
  std::string text = "type: gpu\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += fmt::format("a{}: &a{} [", i, i);
    for (int j = 0; j < 10; ++j) text += fmt::format("{}*a{}", j ? ", " : "", i - 1);
    text += "]\n";
  }
  auto f = dir.write("bomb.yaml", text);  // 10^9 values once expanded
  EXPECT_NE(check_hw(f).find("expands to more than"), std::string::npos);
}

TEST(ConfigErrors, DirectoryInsteadOfFile) {
  TempDir dir;
  EXPECT_NE(check_hw(dir.path()).find("is a directory, not a file"), std::string::npos);
}

}  // namespace
}  // namespace xpusim
