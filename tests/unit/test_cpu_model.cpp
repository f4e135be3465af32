// The multicore CPU model (issue 13): the multicore engine's shared levels and join, the thread
// count from the op or the preset, the library's kernel choice, and the physics checks.
#include <gtest/gtest.h>

#include "arch/registry.h"
#include "device_helpers.h"
#include "sim/config/config_store.h"
#include "sim/engine/multicore.h"
#include "test_helpers.h"
#include "validation/validate.h"
#include "workloads/graph.h"

namespace xpusim {
namespace {

using testing::preset_device;

EngineSpec two_levels(double dram_bw) {
  EngineSpec spec;
  spec.levels = {{"dram", 0, dram_bw, 0, 0}, {"llc", 0, 1e12, 0, 0}};
  return spec;
}

CoreGroup group(int cores, double blocks, double block_bytes, double core_bw) {
  CoreGroup g;
  g.cores = cores;
  g.blocks = blocks;
  g.bytes = {block_bytes, 0};
  g.core_bytes_per_s = {core_bw, 0};
  return g;
}

// Two groups loading at the same time share DRAM: together they take as long as all their bytes
// at its bandwidth; alone, a group is capped by its cores' own load rate.
TEST(Multicore, GroupsShareDramAndCoresCapTheirOwnRate) {
  const double B = 64e6;
  ParallelWork alone, both;
  alone.groups = {group(1, 8, B / 8, 10e9)};
  both.groups = {group(4, 8, B / 8, 10e9), group(4, 8, B / 8, 10e9)};
  const auto t = simulate_parallel_ops(two_levels(50e9), {alone, both});
  EXPECT_NEAR(t[0].time_s, B / 10e9, 0.01 * B / 10e9);          // one core's rate
  EXPECT_NEAR(t[1].time_s, 8 * B / 50e9, 0.03 * 8 * B / 50e9);  // DRAM, shared
  EXPECT_NEAR(t[1].bytes_per_level[0], 8 * B, 1);
}

// The operator ends when its slowest group does (the join), after the fork's overhead.
TEST(Multicore, TheJoinWaitsForTheSlowestGroup) {
  ParallelWork w;
  w.overhead_s = 2e-6;
  CoreGroup fast = group(3, 4, 0, 0), slow = group(1, 5, 0, 0);
  fast.compute_s = slow.compute_s = 1e-3;
  w.groups = {fast, slow};
  const auto t = simulate_parallel_ops(two_levels(1e9), {w});
  EXPECT_NEAR(t[0].time_s, 2e-6 + 5e-3, 1e-9);
  EXPECT_EQ(t[0].bound, Bound::kCompute);
}

// With one stage the core loads a block and then computes it; with two, loads run ahead.
TEST(Multicore, OneStageSerialisesLoadsAndCompute) {
  CoreGroup g = group(1, 8, 1e6, 0);
  g.compute_s = 1e-3 / 8;
  ParallelWork one, two;
  g.stages = 1;
  one.groups = {g};
  g.stages = 2;
  two.groups = {g};
  const auto t = simulate_parallel_ops(two_levels(8e9), {one, two});
  EXPECT_NEAR(t[0].time_s, 2e-3, 1e-9);  // 8 x (0.125 ms load + 0.125 ms compute)
  EXPECT_LT(t[1].time_s, 1.2e-3);
  EXPECT_THROW(simulate_parallel_ops(two_levels(1e9), {ParallelWork{-1, {}}}),
               std::invalid_argument);
}

// The op's `threads` wins; otherwise the preset's `threads` (`--set hw.threads=N`); otherwise all
// cores.
TEST(CpuModel, ThreadsComeFromTheOpThenThePreset) {
  Op op = make_gemm("g", 1, 4096, 4096, DType::kFp32);
  auto all = preset_device("xeon-8480", {}), eight = preset_device("xeon-8480", {"threads=8"});
  const double t_all = all->run({op}).results[0].time_s;
  const double t_eight = eight->run({op}).results[0].time_s;
  op.threads = 8;
  EXPECT_DOUBLE_EQ(all->run({op}).results[0].time_s, t_eight);
  EXPECT_GT(t_eight, 1.5 * t_all);
  ConfigStore store;
  CfgNode tree = store.load("xeon-8480", "hw");
  ErrorList errors;
  apply_override(tree, "threads=57", errors);
  EXPECT_THROW(make_device(tree, "x"), ConfigError);  // more threads than cores
}

// Each library takes its own path: PyTorch's bf16 runs oneDNN on AMX (or fp32 after conversion
// without bf16 hardware), oneDNN 2.6 has no bf16 matmul on AVX2, this project's bf16 kernel
// multiplies fp32-held weights, OpenBLAS has no int8 GEMM.
TEST(CpuModel, TheLibraryPicksTheKernel) {
  const Op bf16 = make_gemm("g", 1, 4096, 4096, DType::kBf16);
  const Op int8 = make_gemm("g", 1, 4096, 4096, DType::kInt8);
  EXPECT_EQ(preset_device("emr-16c", {})->run({bf16}).results[0].unit.label(), "amx");
  EXPECT_EQ(preset_device("epyc-milan-2c", {"library=torch"})->run({bf16}).results[0].unit.label(),
            "simd(bf16->fp32)");
  EXPECT_EQ(preset_device("epyc-milan-2c", {"library=xpusim"})->run({bf16}).results[0].unit.label(),
            "simd(bf16->fp32)");
  const Evaluation onednn = preset_device("epyc-milan-2c", {"library=onednn"})->run({bf16});
  EXPECT_FALSE(onednn.ok);
  EXPECT_NE(onednn.reason.find("oneDNN has no bf16 matmul"), std::string::npos) << onednn.reason;
  EXPECT_FALSE(preset_device("epyc-milan-2c", {"library=openblas"})->run({int8}).ok);
  // The fp32-held bf16 weights cost twice the DRAM bytes of real bf16 weights.
  const OpResult xp = preset_device("epyc-milan-2c", {"library=xpusim"})->run({bf16}).results[0];
  EXPECT_GE(xp.bytes_per_level[0].second, 4096.0 * 4096 * 4);
}

// Repacking plain weights in every call costs time; rows 4 KiB apart repack at the aliased rate.
TEST(CpuModel, RepackingAndItsL1SetAliasing) {
  auto dev = [](const std::string& aliased) {
    return preset_device("epyc-milan-2c", {"library=xpusim", "kernels.xpusim.fp32.pack_bw=4 GB/s",
                                           "kernels.xpusim.fp32.aliased_pack_bw=" + aliased});
  };
  Op k4096 = make_gemm("g", 1, 4096, 4096, DType::kFp32);
  Op k4100 = make_gemm("g", 1, 4100, 4096, DType::kFp32);
  k4096.threads = k4100.threads = 1;
  auto same = dev("4 GB/s"), slow = dev("1 GB/s");
  const double a = same->run({k4096}).results[0].time_s, b = slow->run({k4096}).results[0].time_s;
  // (the repack rate scales with the clock: one core runs at up to clock_max / clock)
  EXPECT_GT(b, a + 0.5 * 4096.0 * 4096 * 4 * (1 / 1e9 - 1 / 4e9));
  EXPECT_NEAR(slow->run({k4100}).results[0].time_s, same->run({k4100}).results[0].time_s, 1e-12);
  ConfigStore store;
  CfgNode tree = store.load("epyc-milan-2c", "hw");
  ErrorList errors;
  apply_override(tree, "kernels.xpusim.fp32.aliased_pack_bw=100 GB/s", errors);
  EXPECT_THROW(make_device(tree, "x"), ConfigError);  // aliased rows cannot repack faster
}

// Weights whose caller touches less than the LLC between two calls are read from the LLC, not
// DRAM: the same GEMM is faster and moves no DRAM bytes for its weights.
TEST(CpuModel, WeightsThatStayInTheLlcAreNotReadFromDram) {
  auto dev = preset_device("emr-16c", {});
  Op cold = make_gemm("g", 1, 4096, 4096, DType::kBf16);
  cold.threads = 16;
  Op warm = cold;
  warm.reuse_bytes = 64e6;  // well inside the 300 MiB L3
  Op big = cold;
  big.reuse_bytes = 2e9;  // a rotation far beyond it: as unknown
  const OpResult c = dev->run({cold}).results[0], w = dev->run({warm}).results[0];
  EXPECT_LT(w.time_s, c.time_s);
  EXPECT_LT(w.bytes_per_level[0].second, 0.1 * c.bytes_per_level[0].second);
  EXPECT_DOUBLE_EQ(dev->run({big}).results[0].time_s, c.time_s);
  EXPECT_NE(warm.signature(), cold.signature());
}

// A decoder row of measure_host2.py is the forward pass `run` builds for that model, each layer's
// ops once per layer, on the row's threads, with every weight and the KV cache as reuse bytes.
TEST(CpuModel, DecoderRowsAreTheModelsForwardPass) {
  testing::TempDir dir;
  const std::string head = "kind,model,dtype,threads,phase,tokens,batch,status,median_ms,lib,set\n";
  dir.write(
      "d/decoder_calibration.csv",
      head + "cpu_decoder,llama2-7b-2layer,bf16,4,decode,128,4,ok,12.5,torch 2.11,calibration\n" +
          "cpu_decoder,gpt2,fp32,16,prefill,32,1,failed,,torch 2.11,calibration\n");
  const auto rows = load_cpu_dataset(dir.path("d"));
  ASSERT_EQ(rows.size(), 1u);  // the failed row is left out
  EXPECT_EQ(rows[0].category, "decoder decode");
  ConfigStore store;
  const ModelConfig m = parse_model(store.load("llama2-7b-2layer", "models"));
  ForwardShape s;
  s.batch = 4;
  s.q_len = 1;
  s.kv_len = 129;
  s.prefill = false;
  s.kernels = {StackKernels::Rope::kTorchRotateHalf, StackKernels::KvWrite::kCopies, true};
  size_t n = 0;
  for (const Op& op : build_forward(m, s)) n += size_t(op.repeat);
  EXPECT_EQ(rows[0].ops.size(), n);
  size_t gemms = 0;
  for (const Op& op : rows[0].ops) {
    EXPECT_EQ(op.threads, 4);
    EXPECT_GT(op.reuse_bytes, 2 * 202e6 * 2);  // two layers' bf16 weights at least
    gemms += op.kind == OpKind::kGemm;
  }
  EXPECT_EQ(gemms, 2u * 4u + 1u);  // qkv, out, gate_up, down per layer; the LM head
  dir.write("bad/decoder_holdout.csv",
            head + "cpu_decoder,llama9-1t,bf16,4,decode,128,4,ok,12.5,torch 2.11,holdout\n");
  const std::string msg = testing::config_error_of([&] { load_cpu_dataset(dir.path("bad")); });
  EXPECT_NE(msg.find("'llama9-1t' is not a model in configs/models"), std::string::npos) << msg;
}

// measure_host4.py's rows carry best_ms (the best of randomised visits on a drifting host), which
// is what validate compares; files without it keep median_ms.
TEST(CpuModel, RowsWithBestMsAreComparedByIt) {
  testing::TempDir dir;
  dir.write("d/gemm_calibration.csv",
            "kind,M,K,N,dtype,threads,status,best_ms,median_ms,lib,set\n"
            "cpu_gemm,1,4096,4096,bf16,16,ok,0.5,0.8,torch 2.11,calibration\n");
  dir.write("e/gemm_calibration.csv",
            "kind,M,K,N,dtype,threads,status,median_ms,lib,set\n"
            "cpu_gemm,1,4096,4096,bf16,16,ok,0.8,torch 2.11,calibration\n");
  const auto best = load_cpu_dataset(dir.path("d")), med = load_cpu_dataset(dir.path("e"));
  ASSERT_EQ(best.size(), 1u);
  ASSERT_EQ(med.size(), 1u);
  EXPECT_DOUBLE_EQ(best[0].measured_s, 0.5e-3);
  EXPECT_DOUBLE_EQ(med[0].measured_s, 0.8e-3);
}

// The aliases name the real presets.
TEST(CpuModel, AliasesResolveToTheMeasuredMachines) {
  ConfigStore store;
  for (auto [alias, real] : {std::pair{"spr-16c", "emr-16c"}, {"zen4-2c", "epyc-milan-2c"}}) {
    const CfgNode a = store.load(alias, "hw"), r = store.load(real, "hw");
    ASSERT_NE(a.find("name"), nullptr);
    EXPECT_EQ(a.find("name")->scalar, real);
    EXPECT_EQ(config_fingerprint(a), config_fingerprint(r)) << alias;
  }
}

// The machine instance a dataset measured (probe_cpu.c, instance_calibration.csv) becomes preset
// overrides: the peak read rate and one thread's read rate as misses in flight (start and end
// readings averaged); the probed clocks are recorded, not applied.
TEST(CpuModel, InstanceOverridesDescribeTheMeasuredMachine) {
  testing::TempDir dir;
  const std::string head = "kind,test,threads,when,value,unit,set\n";
  dir.write("d/instance_calibration.csv",
            head + "cpu_instance,read_c,1,start,12,GB/s,calibration\n" +
                "cpu_instance,read_c,1,end,14,GB/s,calibration\n" +
                "cpu_instance,read_c,8,start,90,GB/s,calibration\n" +
                "cpu_instance,read_c,16,start,80,GB/s,calibration\n" +
                "cpu_instance,clock_scalar,16,start,9.0,GHz,calibration\n" +
                "cpu_instance,clock_vector,1,start,3.0,GHz,calibration\n" +
                "cpu_instance,clock_vector,16,start,2.6,GHz,calibration\n" +
                "cpu_instance,clock_vector,16,end,2.4,GHz,calibration\n");
  const auto o = cpu_instance_overrides(dir.path("d"), 100e-9);
  const std::vector<std::string> want = {"dram.bw=90 GB/s", "core.outstanding_misses=20.31"};
  EXPECT_EQ(o, want);
  EXPECT_TRUE(cpu_instance_overrides(dir.path(""), 100e-9).empty());
  auto dev = preset_device("emr-16c", o);  // the overrides build a valid device
  EXPECT_NE(dev, nullptr);
  dir.write("bad/instance_calibration.csv",
            head + "cpu_instance,read_c,1,start,fast,GB/s,calibration\n");
  const std::string msg =
      testing::config_error_of([&] { cpu_instance_overrides(dir.path("bad"), 100e-9); });
  EXPECT_NE(msg.find("'fast' is not a number"), std::string::npos) << msg;
}
}  // namespace
}  // namespace xpusim
