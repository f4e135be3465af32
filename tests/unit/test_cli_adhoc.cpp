// Ad-hoc runs and the command line's consistency (issue 11 item 5): a run built from --hw/--model
// alone, --numerics, per-device --set, tp=auto everywhere, the warnings column, --dump-graph in
// every format, the speed-up column's layout rule, --version and the numerics disk cache.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_helpers.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "test_helpers.h"

namespace {

using xpusim::testing::CliResult;
using xpusim::testing::run_cli;
using xpusim::testing::TempDir;

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

TEST(CliAdhoc, HwAndModelAloneRunOneSchemeWithoutNumericsUnderTheirOwnName) {
  TempDir dir;
  CliResult r = run_cli("run --hw h100 --model llama2-7b --phase decode --format json", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto points = json_lines(r.out);
  ASSERT_EQ(points.size(), 1u) << r.out;  // bf16 only, not the default experiment's two schemes
  EXPECT_EQ(points[0]["quant"], "bf16");
  EXPECT_FALSE(points[0].contains("numerics"));
  EXPECT_TRUE(std::filesystem::exists(dir.path("xpusim-out/llama2-7b_h100_decode/results.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("xpusim-out/default")));

  // --numerics asks for the column; --quant for schemes; both name the run.
  r = run_cli(
      "run --hw h100 --model llama2-7b --phase decode --quant int8 --quant bf16 "
      "--numerics --batch 4 --format json",
      dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto two = json_lines(r.out);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_TRUE(two[0].contains("numerics"));
  EXPECT_TRUE(std::filesystem::exists(
      dir.path("xpusim-out/llama2-7b_h100_decode_batch4_int8+bf16/results.json")));

  // Naming the default experiment keeps all of it.
  r = run_cli("run default --hw h100 --phase decode --format json --no-out", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).size(), 2u);
}

TEST(CliAdhoc, SetCanTargetOneDeviceByName) {
  TempDir dir;
  auto latency = [&](const std::string& extra) {
    CliResult r = run_cli(
        "run --hw h100,a100 --model llama2-7b --phase decode --format json "
        "--no-out " +
            extra,
        dir.path());
    EXPECT_EQ(r.code, 0) << r.err;
    std::map<std::string, double> m;
    for (const auto& p : json_lines(r.out)) m[p["hw"]] = p["latency_ms"];
    return m;
  };
  const auto base = latency("");
  const auto slow = latency("--set 'hw[a100].hbm.bw=0.5 TB/s'");
  EXPECT_DOUBLE_EQ(slow.at("h100"), base.at("h100"));
  EXPECT_GT(slow.at("a100"), base.at("a100") * 2);
  const auto all = latency("--set 'hw.hbm.bw=0.5 TB/s'");
  EXPECT_GT(all.at("h100"), base.at("h100") * 2);

  CliResult bad =
      run_cli("run --hw h100,a100 --model llama2-7b --no-out --set hw[h10].hbm.bw=1", dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("no device of the experiment is named 'h10'"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("did you mean 'h100'"), std::string::npos) << bad.err;
}

TEST(CliAdhoc, TpAutoIsAcceptedByTheOptionSetAndFiles) {
  TempDir dir;
  for (const std::string how : {"--tp auto", "--set tp=auto"}) {
    CliResult r =
        run_cli("run --hw h100 --model llama2-70b --phase decode --format json --no-out " + how,
                dir.path());
    ASSERT_EQ(r.code, 0) << how << ": " << r.err;
    EXPECT_EQ(json_lines(r.out)[0]["tp"], 2) << how;  // 70B bf16 needs two 80 GB cards
  }
  dir.write("e.yaml",
            "type: experiment\nhw: [h100]\nmodel: llama2-70b\nphases: [decode]\ntp: auto\n");
  CliResult r = run_cli("run e.yaml --format json --no-out", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json_lines(r.out)[0]["tp"], 2);
  r = run_cli("run --hw h100 --model llama2-7b --no-out --set tp=most", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'most' is not an integer"), std::string::npos) << r.err;
}

TEST(CliAdhoc, CsvKeepsEveryWarning) {
  TempDir dir;
  CliResult r = run_cli(
      "run --hw h100 --model llama2-7b --phase decode --batch 64 --ctx 8192 "
      "--limits warn --format csv --no-out",
      dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_TRUE(header.ends_with(",warnings")) << header;
  EXPECT_NE(row.find("exceeds the model's 4096 positions"), std::string::npos) << row;
  EXPECT_NE(row.find("does not fit"), std::string::npos) << row;
}

TEST(CliAdhoc, DumpGraphHonoursFormat) {
  TempDir dir;
  const std::string base = "run --hw h100 --model llama2-7b --phase decode --dump-graph --no-out ";
  CliResult j = run_cli(base + "--format json", dir.path());
  ASSERT_EQ(j.code, 0) << j.err;
  const auto points = json_lines(j.out);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_GT(points[0]["ops"].size(), 5u);
  EXPECT_EQ(points[0]["ops"][0]["name"], "embed.tokens");
  CliResult c = run_cli(base + "--format csv", dir.path());
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_TRUE(c.out.starts_with("hw,model,phase,batch,prompt,ctx,op,kind,count,dtype,shape,"))
      << c.out.substr(0, 200);
  EXPECT_EQ(std::count(c.out.begin(), c.out.end(), '\n'), 1 + long(points[0]["ops"].size()));
}

TEST(CliAdhoc, SpeedupComparesOnlyEqualParallelLayouts) {
  TempDir dir;
  // tp: auto gives bf16 two cards and int8 one: their latencies do not compare schemes.
  CliResult r = run_cli(
      "run --hw h100 --model llama2-70b --phase decode --quant bf16,int8 "
      "--tp auto --no-out",
      dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("int8 runs on tp1 pp1 ep1, the first scheme (bf16) on tp2 pp1 ep1"),
            std::string::npos)
      << r.out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("h100") && line.find("int8") != std::string::npos) {
      EXPECT_EQ(line.find("1.00x"), std::string::npos) << line;
    }
  // Equal layouts still compare.
  r = run_cli("run --hw h100 --model llama2-7b --phase decode --quant bf16,int8 --no-out",
              dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1.00x"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("not compared"), std::string::npos) << r.out;
}

TEST(CliAdhoc, VersionNamesTheCommit) {
  TempDir dir;
  CliResult r = run_cli("--version", dir.path());
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with("xpusim 0.")) << r.out;
  EXPECT_NE(r.out.find("(git "), std::string::npos) << r.out;
}

// The numerics column is computed once per (scheme, datapath, reference bytes, commit) and read
// back by the next process; a damaged entry is recomputed.
TEST(NumericsDiskCache, ASecondRunnerReadsWhatTheFirstComputed) {
  using namespace xpusim;
  TempDir dir;
  ConfigStore store;
  const std::string ref = std::string(XPUSIM_SOURCE_DIR) + "/workloads/models/tiny-llama";
  const RunOverrides o{{"hw=[h100, a100]", "phases=[decode]", "quant=[bf16, int8]"}};
  ExperimentRunner first(store, ref);
  first.set_numerics_cache_dir(std::filesystem::path(dir.path("cache")));
  const auto a = first.run(store.load("default", "experiments"), o);
  // bf16 shares one datapath on both cards; int8 is native on both: 2 computations, not 4.
  EXPECT_EQ(first.numerics_computed(), 2u);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path("cache"))) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 2u);

  ExperimentRunner second(store, ref);
  second.set_numerics_cache_dir(std::filesystem::path(dir.path("cache")));
  const auto b = second.run(store.load("default", "experiments"), o);
  EXPECT_EQ(second.numerics_computed(), 0u);
  ASSERT_EQ(a.points.size(), b.points.size());
  for (size_t i = 0; i < a.points.size(); ++i) {
    ASSERT_TRUE(b.points[i].numerics && b.points[i].numerics->ok);
    EXPECT_EQ(a.points[i].numerics->perplexity, b.points[i].numerics->perplexity);
    EXPECT_EQ(a.points[i].numerics->datapath, b.points[i].numerics->datapath);
  }

  // Damage every entry: the next runner recomputes rather than trusting it.
  for (const auto& e : std::filesystem::directory_iterator(dir.path("cache")))
    std::ofstream(e.path()) << "{\"key\": 3";
  ExperimentRunner third(store, ref);
  third.set_numerics_cache_dir(std::filesystem::path(dir.path("cache")));
  const auto c = third.run(store.load("default", "experiments"), o);
  EXPECT_EQ(third.numerics_computed(), 2u);
  EXPECT_EQ(c.points[0].numerics->perplexity, a.points[0].numerics->perplexity);

  // Another scheme is another entry.
  ExperimentRunner fourth(store, ref);
  fourth.set_numerics_cache_dir(std::filesystem::path(dir.path("cache")));
  fourth.run(store.load("default", "experiments"),
             {{"hw=[h100]", "phases=[decode]", "quant=[fp8]"}});
  EXPECT_EQ(fourth.numerics_computed(), 1u);
}

}  // namespace

namespace {

// numerics takes every scheme run takes (or a row says why not), repeats --schemes, and refuses
// what it cannot honour instead of reducing it.
TEST(CliNumerics, TakesRunsSchemesAndHonoursOrRefusesWhatIsAsked) {
  TempDir dir;
  CliResult r = run_cli("numerics --schemes fp32,fp16 --schemes w8a16,heads:0.25 --windows 2 "
                        "--format json",
                        dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, nlohmann::json> rows;
  for (const auto& j : json_lines(r.out)) rows[j["scheme"]] = j;
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_TRUE(rows["fp16"]["ok"]);
  EXPECT_NE(rows["fp16"]["datapath"].get<std::string>().find("fp16"), std::string::npos);
  EXPECT_TRUE(rows["w8a16"]["ok"]);
  EXPECT_NE(rows["w8a16"]["datapath"].get<std::string>().find("weight-only"), std::string::npos);
  EXPECT_GT(rows["w8a16"]["logit_rel_err"].get<double>(), 0.0);
  EXPECT_FALSE(rows["heads:0.25"]["ok"]);
  EXPECT_NE(rows["heads:0.25"]["error"].get<std::string>().find("structured pruning"),
            std::string::npos);

  r = run_cli("numerics --windows 100", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("room for at most 16 windows"), std::string::npos) << r.err;
  r = run_cli("numerics --seq 5000", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("exceeds the model's 256 positions"), std::string::npos) << r.err;
  r = run_cli("numerics --schemes fp33", dir.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown scheme 'fp33'"), std::string::npos) << r.err;
}

}  // namespace
