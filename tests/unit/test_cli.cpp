// The xpusim binary as users and scripts see it: exit codes, clean stdout (no SystemC banner),
// JSON lines with the contract's keys, and the output folder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_helpers.h"
#include "test_helpers.h"

namespace {

using Result = xpusim::testing::CliResult;

Result run(const std::string& args, const std::string& dir) {
  return xpusim::testing::run_cli(args, dir);
}

TEST(Cli, DefaultRunPrintsTheComparisonTableAndWritesResults) {
  xpusim::testing::TempDir dir;
  Result r = run("run", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("SystemC"), std::string::npos) << "banner leaked to stdout";
  for (const char* hw : {"xeon-8480", "h100", "tpu-v4"})
    EXPECT_NE(r.out.find(hw), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency_ms"), std::string::npos);
  for (const char* f : {"results.json", "results.csv", "ops.csv", "stats.json", "stats.csv",
                        "resolved/hw-h100.yaml", "resolved/experiment-default.yaml",
                        "resolved/model-llama2-7b.yaml"})
    EXPECT_TRUE(std::filesystem::exists(dir.path("xpusim-out/default/") + f)) << f;
}

TEST(Cli, JsonLinesCarryTheContractKeys) {
  xpusim::testing::TempDir dir;
  Result r =
      run("run --no-out --format json --hw h100,a100 --model gpt2 --phase generate --prompt 64 "
          "--gen 4 --quant bf16",
          dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"hw", "model", "phase", "batch", "prompt", "ctx", "latency_ms",
                            "tokens_per_s", "energy_j", "avg_power_w", "ops", "ttft_ms", "tpot_ms"})
      EXPECT_TRUE(j.contains(key)) << key;
    // Both presets have energy parameters: board power between idle and the power limit.
    ASSERT_TRUE(j["energy_j"].is_number());
    const double w = j["avg_power_w"].get<double>();
    EXPECT_GT(w, j["hw"] == "h100" ? 125.0 : 55.0);
    EXPECT_LE(w, j["hw"] == "h100" ? 700.0 : 400.0);
    EXPECT_NEAR(j["energy_j"].get<double>(), w * j["latency_ms"].get<double>() * 1e-3,
                1e-9 * j["energy_j"].get<double>());
    EXPECT_GT(j["j_per_output_token"].get<double>(), 0.0);
    double ops_j = 0;
    for (const auto& o : j["ops"]) ops_j += o["energy_j"].get<double>();
    EXPECT_LE(ops_j, j["energy_j"].get<double>() * (1 + 1e-9));  // + idle gaps, if any
    EXPECT_GT(ops_j, 0.5 * j["energy_j"].get<double>());
    EXPECT_GT(j["ops"].size(), 5u);
    EXPECT_NEAR(j["latency_ms"].get<double>(),
                j["ttft_ms"].get<double>() + 4 * j["tpot_ms"].get<double>(), 1e-9);
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.path("xpusim-out")));
}

TEST(Cli, CsvFormatHasAHeaderAndOneRowPerPoint) {
  xpusim::testing::TempDir dir;
  Result r = run("run --no-out --format csv", dir.path());
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 13);  // 3 devices x 2 schemes x 2 phases
  EXPECT_EQ(r.out.rfind("hw,model,phase,batch", 0), 0u);
}

TEST(Cli, UserErrorsExitTwoWithTheMessageOnStderr) {
  xpusim::testing::TempDir dir;
  auto bad = dir.write("bad.yaml", "type: gpu\nbase: h100\nsm:\n  count: 0\n");
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"check bad.yaml", "bad.yaml:4:10: error: sm.count: value 0 is out of range"},
      {"run --hw nosuch --no-out", "no preset or file named 'nosuch'"},
      {"run --batch -1 --no-out",
       "<command line: --batch -1>: error: batch: value -1 is out of range"},
      {"run --bogus", "unknown option '--bogus'"},
      {"run --format xml --no-out", "--format 'xml' is not one of"},
      {"frobnicate", "unknown command 'frobnicate'"},
      {"describe gpux", "no configuration type 'gpux'"},
      {"predict --hw h100", "--ops is required"},
      {"predict --hw h100 --ops missing.csv", "missing.csv: error: --ops: cannot open the file"},
  };
  for (const auto& c : cases) {
    Result r = run(c.args, dir.path());
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out.find("error"), std::string::npos) << "diagnostics belong on stderr: " << c.args;
  }
}

TEST(Cli, InformationalCommands) {
  xpusim::testing::TempDir dir;
  Result list = run("list", dir.path());
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("hw/gpu:"), std::string::npos);
  EXPECT_NE(list.out.find("tpu-v5e"), std::string::npos);
  Result desc = run("describe gpu", dir.path());
  EXPECT_EQ(desc.code, 0);
  EXPECT_NE(desc.out.find("sm.tensor.bf16_per_clk"), std::string::npos);
  EXPECT_NE(desc.out.find("type: size (B); default: (required)"), std::string::npos) << desc.out;
  Result check = run("check h100 llama2-7b default", dir.path());
  EXPECT_EQ(check.code, 0) << check.err;
  for (const char* cmd : {"run --help", "predict --help", "check --help", "describe --help",
                          "list --help", "--help"}) {
    Result h = run(cmd, dir.path());
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_NE(h.out.find("usage:"), std::string::npos) << cmd;
  }
}

// `check` takes sweep files: the file, its experiment and every point resolved, with errors that
// name the file and line, or the point.
TEST(Cli, CheckResolvesEverySweepPoint) {
  xpusim::testing::TempDir dir;
  Result ok = run("check gpu-sm-bw-l2", dir.path());
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("gpu-sm-bw-l2: ok (36 sweep points resolved)"), std::string::npos)
      << ok.out;
  dir.write("point.yaml", R"(type: sweep
name: bad
set: ["hw=[h100]"]
parameters:
  - {key: hw.sm.count, values: [60, -3]}
)");
  Result point = run("check point.yaml", dir.path());
  EXPECT_EQ(point.code, 2);
  EXPECT_NE(point.err.find("value -3 is out of range; allowed: 1 .. 100000 (sweep point 1: "
                           "hw.sm.count=-3)"),
            std::string::npos)
      << point.err;
  dir.write("exp.yaml", R"(type: sweep
name: bad
experiment: nosuch
parameters:
  - {key: batch, values: [1]}
)");
  Result exp = run("check exp.yaml", dir.path());
  EXPECT_EQ(exp.code, 2);
  EXPECT_NE(exp.err.find("exp.yaml:3:13: error: experiment: no preset or file named 'nosuch'"),
            std::string::npos)
      << exp.err;
}

TEST(Cli, PredictReadsAndWritesCsvFiles) {
  xpusim::testing::TempDir dir;
  dir.write("ops.csv", "kind,M,K,N,dtype,note\ngemm,1,4096,4096,bf16,hello\n");
  Result r = run("predict --hw h100 --ops ops.csv --out pred.csv", dir.path());
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir.path("pred.csv"));
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header,
            "kind,M,K,N,dtype,note,pred_ms,pred_cycles,pred_energy_j,pred_avg_power_w,"
            "pred_clock_mhz,bound,pred_error");
  EXPECT_NE(row.find(",hello,"), std::string::npos);
}

}  // namespace
