// The TPU device on the engine: prefetch stalls from small buffers or low bandwidth, the work
// split over arrays and cores, 2:4 sparsity, and TPU v1's published peak and roofline ridge.
#include <gtest/gtest.h>

#include "arch/registry.h"
#include "arch/tpu/systolic.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"

namespace xpusim {
namespace {

std::unique_ptr<Device> tpu(const std::string& preset, const std::vector<std::string>& sets) {
  ConfigStore store;
  CfgNode tree = store.load(preset, "hw");
  ErrorList errors;
  for (const auto& s : sets) apply_override(tree, s, errors);
  EXPECT_TRUE(errors.empty());
  return make_device(tree, preset);
}

OpResult run_one(Device& d, const Op& op) {
  Evaluation ev = d.run({op});
  EXPECT_TRUE(ev.ok) << ev.reason;
  return ev.results.at(0);
}

Op int8_gemm(int64_t M, int64_t K, int64_t N) {
  Op op = make_gemm("g", M, K, N, DType::kInt8);
  op.wdtype = DType::kInt8;
  finalize(op);
  return op;
}

TEST(TpuDevice, LowBandwidthOrSmallBuffersStallTheArrayAndAmpleOnesDoNot) {
  Op op = int8_gemm(256, 512, 512);
  op.out_bytes = 256.0 * 512;  // 1-byte words, as SCALE-Sim
  const double compute_cycles =
      double(plan_folds({32, 32, Dataflow::kOs, 1}, 256, 512, 512).compute_cycles);
  auto ample = tpu("systolic", {"mxu.dataflow=os", "hbm.bw=1 TB/s", "hbm.overlap_ops=false"});
  auto slow = tpu("systolic", {"mxu.dataflow=os", "hbm.bw=1 GB/s", "hbm.overlap_ops=false"});
  auto small = tpu("systolic", {"mxu.dataflow=os", "sram.ifmap=16 KiB", "hbm.overlap_ops=false"});
  auto big = tpu("systolic", {"mxu.dataflow=os", "sram.ifmap=1 MiB", "hbm.overlap_ops=false"});
  const OpResult a = run_one(*ample, op), s = run_one(*slow, op);
  const OpResult sm = run_one(*small, op), bg = run_one(*big, op);
  // Ample: only the first fold's load is exposed (well under 1 %).
  EXPECT_LT(a.stall_s * 1e9, 0.01 * compute_cycles);
  EXPECT_NEAR(a.compute_busy_s * 1e9, compute_cycles, 1e-6 * compute_cycles);
  // 1 GB/s starves the array: stalls outweigh the compute.
  EXPECT_GT(s.stall_s, s.compute_busy_s);
  // os re-reads X (128 KiB) on every column fold unless it fits half of the ifmap SRAM: at
  // 10 GB/s the 16 KiB SRAM stalls the array, the 1 MiB one keeps X and hardly stalls.
  EXPECT_NEAR(sm.bytes_per_level[0].second, 16.0 * 256 * 512, 1);
  EXPECT_NEAR(bg.bytes_per_level[0].second, 256.0 * 512, 1);
  EXPECT_GT(sm.stall_s, sm.compute_busy_s);
  EXPECT_LT(bg.stall_s, 0.05 * bg.compute_busy_s);
}

TEST(TpuDevice, FoldsSplitOverEveryArrayOfEveryCore) {
  const Op op = int8_gemm(1024, 1024, 1024);
  const int64_t fold = plan_folds({32, 32, Dataflow::kWs, 1}, 1024, 1024, 1024).fold_cycles;
  auto one = tpu("systolic", {"hbm.mode=stall_free"});
  auto eight = tpu("systolic", {"hbm.mode=stall_free", "mxu.count=4", "cores=2"});
  const OpResult a = run_one(*one, op), b = run_one(*eight, op);
  EXPECT_NEAR(a.cycles, 32.0 * 32 * double(fold), 1e-6 * a.cycles);
  EXPECT_NEAR(b.cycles, 32.0 * 32 / 8 * double(fold), 1e-6 * b.cycles);
}

TEST(TpuDevice, StructuredSparsityHalvesTheFoldsOnlyWhereTheArraySupportsIt) {
  Op op = make_gemm("g", 1024, 4096, 1024, DType::kInt8, /*sparse_2_4=*/true);
  auto dense_hw = tpu("systolic", {"hbm.mode=stall_free"});
  auto sparse_hw = tpu("systolic", {"hbm.mode=stall_free", "mxu.sparse_2_4=true"});
  const Op dense_op = make_gemm("g", 1024, 4096, 1024, DType::kInt8);
  const double dense = run_one(*dense_hw, dense_op).cycles;
  EXPECT_EQ(run_one(*dense_hw, op).cycles, dense);  // no sparse datapath: runs dense
  EXPECT_NEAR(run_one(*sparse_hw, op).cycles / dense, 0.5, 0.01);
}

// Jouppi et al., ISCA 2017: 65,536 int8 MACs at 700 MHz = 92 TOPS; with 34 GB/s of DDR3 the
// roofline's ridge lies at about 92e12 / 34e9 = 2,700 operations per weight byte (the paper's
// Figure 5 puts it near 1,350 MACs per byte). A large GEMM reaches the peak; batch-1 inference
// sits far left of the ridge and is memory bound. Only weights cross the DDR3 (the paper's
// operational intensity is per weight byte).
TEST(TpuDevice, TpuV1ReachesItsPublishedPeakAndRidge) {
  auto v1 = tpu("tpu-v1", {});
  const double peak = 2.0 * 256 * 256 * 700e6;
  EXPECT_NEAR(peak / 1e12, 92, 0.5);
  const Op big = int8_gemm(16384, 4096, 4096);
  const OpResult r = run_one(*v1, big);
  EXPECT_EQ(r.bound, Bound::kCompute);
  EXPECT_GT(big.flops / r.time_s, 0.95 * peak);
  EXPECT_LE(big.flops / r.time_s, peak);
  // Intensity per weight byte: M x 2 ops for each int8 weight. Below the ridge the GEMM is
  // memory bound, above it compute bound.
  const double ridge = peak / 34e9;
  EXPECT_NEAR(ridge, 2700, 30);
  const OpResult low = run_one(*v1, int8_gemm(256, 4096, 4096));    // 512 ops/byte
  const OpResult high = run_one(*v1, int8_gemm(8192, 4096, 4096));  // 16384 ops/byte
  EXPECT_EQ(low.bound, Bound::kMemory);
  EXPECT_EQ(high.bound, Bound::kCompute);
}

}  // namespace
}  // namespace xpusim
