// The TPU device on the engine: prefetch stalls from small buffers or low bandwidth, the work
// split over arrays and cores, 2:4 sparsity, and TPU v1's published peak and roofline ridge.
#include <gtest/gtest.h>

#include "arch/registry.h"
#include "arch/tpu/systolic.h"
#include "arch/tpu/tpu_model.h"
#include "device_helpers.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"

namespace xpusim {
namespace {

using testing::preset_device;

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
  const std::string tiles = "sram.read_buffer=tiles";  // the fold-order buffers, not SCALE-Sim's
  auto ample = preset_device("systolic",
                             {"mxu.dataflow=os", "hbm.bw=1 TB/s", "hbm.overlap_ops=false", tiles});
  auto slow = preset_device("systolic",
                            {"mxu.dataflow=os", "hbm.bw=1 GB/s", "hbm.overlap_ops=false", tiles});
  auto small = preset_device(
      "systolic", {"mxu.dataflow=os", "sram.ifmap=16 KiB", "hbm.overlap_ops=false", tiles});
  auto big = preset_device("systolic",
                           {"mxu.dataflow=os", "sram.ifmap=1 MiB", "hbm.overlap_ops=false", tiles});
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

// SCALE-Sim's buffers (the systolic preset's sram.read_buffer: window): 8 KiB SRAMs at 4 words
// per cycle stall the array, 1 MiB SRAMs (every operand inside the read windows, no drain before
// the end) do not; the array figures agree with the engine's result.
TEST(TpuDevice, WindowBuffersStallWhenSmallOrSlowAndNotWhenAmple) {
  Op op = int8_gemm(128, 256, 256);
  op.out_bytes = 128.0 * 256;  // 1-byte words, as SCALE-Sim
  const FoldPlan plan = plan_folds({32, 32, Dataflow::kWs, 1}, 128, 256, 256);
  auto small = preset_device(
      "systolic", {"sram.ifmap=8 KiB", "sram.filter=8 KiB", "sram.ofmap=8 KiB", "hbm.bw=4 GB/s"});
  auto big =
      preset_device("systolic", {"sram.ifmap=1 MiB", "sram.filter=1 MiB", "sram.ofmap=1 MiB"});
  const OpResult sm = run_one(*small, op), bg = run_one(*big, op);
  ASSERT_TRUE(sm.array && bg.array);
  EXPECT_NEAR(bg.array->stall_cycles, 0, 1e-6);
  EXPECT_NEAR(bg.cycles, double(plan.compute_cycles), 1e-6);
  EXPECT_GT(sm.array->stall_cycles, 0.5 * double(plan.compute_cycles));
  for (const OpResult* r : {&sm, &bg}) {
    EXPECT_NEAR(r->array->compute_cycles, double(plan.compute_cycles), 1e-6);
    EXPECT_NEAR(r->array->compute_cycles + r->array->stall_cycles, r->cycles, 1e-6 * r->cycles);
    EXPECT_NEAR(r->array->util, 128.0 * 256 * 256 / (r->cycles * 32 * 32), 1e-9);
    EXPECT_NEAR(r->array->mapping_eff, plan.mapping_eff, 1e-12);
  }
  // Everything fits the big buffers: each operand crosses DRAM once (whole lines of 10 words).
  EXPECT_GE(bg.array->dram_read_bytes, 128.0 * 256 + 256.0 * 256);
  EXPECT_LT(bg.array->dram_read_bytes, 128.0 * 256 + 256.0 * 256 + 20);
  // The small filter window re-reads W as the column folds pass over it.
  EXPECT_GT(sm.array->dram_read_bytes, 1.5 * (128.0 * 256 + 256.0 * 256));
}

// mxu.transpose: vector costs the layout changes on the vector unit: os reads Xᵀ (M x K
// elements), is also writes Yᵀ (M x N); ws needs none. A vector unit of 1 operation per clock
// makes the transposes outlast the folds.
TEST(TpuDevice, TransposesADataflowNeedsRunOnTheVectorUnit) {
  const Op op = int8_gemm(256, 512, 128);
  for (const char* df : {"ws", "os", "is"}) {
    const std::string d = std::string("mxu.dataflow=") + df;
    auto free = preset_device("systolic", {d, "hbm.mode=stall_free", "vpu_per_clk=1"});
    auto vec = preset_device("systolic",
                             {d, "hbm.mode=stall_free", "vpu_per_clk=1", "mxu.transpose=vector"});
    const OpResult a = run_one(*free, op), b = run_one(*vec, op);
    const double elems = std::string(df) == "ws"   ? 0.0
                         : std::string(df) == "os" ? 256.0 * 512
                                                   : 256.0 * 512 + 256.0 * 128;
    if (elems == 0) {
      EXPECT_EQ(a.cycles, b.cycles) << df;
    } else {
      EXPECT_GT(b.cycles, a.cycles) << df;
      EXPECT_NEAR(b.compute_busy_s * 1e9, elems, 1e-6 * elems) << df;  // 1 GHz, 1 op per clock
    }
  }
}

TEST(TpuDevice, FoldsSplitOverEveryArrayOfEveryCore) {
  const Op op = int8_gemm(1024, 1024, 1024);
  const int64_t fold = plan_folds({32, 32, Dataflow::kWs, 1}, 1024, 1024, 1024).fold_cycles;
  auto one = preset_device("systolic", {"hbm.mode=stall_free"});
  auto eight = preset_device("systolic", {"hbm.mode=stall_free", "mxu.count=4", "cores=2"});
  const OpResult a = run_one(*one, op), b = run_one(*eight, op);
  EXPECT_NEAR(a.cycles, 32.0 * 32 * double(fold), 1e-6 * a.cycles);
  EXPECT_NEAR(b.cycles, 32.0 * 32 / 8 * double(fold), 1e-6 * b.cycles);
  // The plan's own figures: the busiest array's stall-free cycles and the PEs its folds map.
  ConfigStore store;
  ErrorList errors;
  const TpuConfig c = tpu_schema().parse(store.load("systolic", "hw"), errors);
  ASSERT_TRUE(errors.empty());
  const TpuOpPlan p = plan_tpu_op(c, op);
  EXPECT_EQ(p.compute_cycles, 32.0 * 32 * double(fold));
  EXPECT_EQ(p.mapping_eff, 1.0);
  EXPECT_EQ(p.macs, 1024.0 * 1024 * 1024);
}

TEST(TpuDevice, StructuredSparsityHalvesTheFoldsOnlyWhereTheArraySupportsIt) {
  Op op = make_gemm("g", 1024, 4096, 1024, DType::kInt8, /*sparse_2_4=*/true);
  auto dense_hw = preset_device("systolic", {"hbm.mode=stall_free"});
  auto sparse_hw = preset_device("systolic", {"hbm.mode=stall_free", "mxu.sparse_2_4=true"});
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
  auto v1 = preset_device("tpu-v1", {});
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

// Formats per preset: TPU v5e's MXUs run int8 at twice the bf16 rate (394 vs 197 TOPS), TPU v4's
// at the same rate (275 TOPS both), TPU v1 has no bf16 datapath at all. A compute-bound GEMM
// shows it; the MXUs' peak over all arrays bounds every GEMM.
TEST(TpuDevice, FormatsRunAtEachPresetsRate) {
  const Op bf16 = make_gemm("g", 8192, 8192, 8192, DType::kBf16);
  Op int8 = make_gemm("g", 8192, 8192, 8192, DType::kInt8);
  auto v5e = preset_device("tpu-v5e", {}), v4 = preset_device("tpu-v4", {}),
       v1 = preset_device("tpu-v1", {});
  const OpResult v5e_b = run_one(*v5e, bf16), v5e_i = run_one(*v5e, int8);
  const OpResult v4_b = run_one(*v4, bf16), v4_i = run_one(*v4, int8);
  EXPECT_EQ(v5e_b.bound, Bound::kCompute);
  EXPECT_NEAR(v5e_b.time_s / v5e_i.time_s, 2.0, 0.1);
  EXPECT_NEAR(v4_b.time_s / v4_i.time_s, 1.0, 0.02);
  EXPECT_GT(bf16.flops / v5e_b.time_s, 0.9 * 197e12);
  EXPECT_LE(bf16.flops / v5e_b.time_s, 197e12 * 1.0001);
  EXPECT_GT(bf16.flops / v4_b.time_s, 0.9 * 275e12);
  EXPECT_LE(bf16.flops / v4_b.time_s, 275.3e12);
  const Evaluation no = v1->run({bf16});
  EXPECT_FALSE(no.ok);
  EXPECT_NE(no.reason.find("no bf16 datapath"), std::string::npos) << no.reason;
}

// A format the MXU lacks but a wider one holds exactly runs in that one, and the vector unit's
// conversion of both operands is counted: fp8 on TPU v5e (bf16), int4 on TPU v1 (int8). bf16 on
// TPU v1 has nothing to widen into and cannot run.
TEST(TpuDevice, NarrowFormatsUpcastOnTheVectorUnitAndTheCostCounts) {
  auto v5e = preset_device("tpu-v5e", {}), v1 = preset_device("tpu-v1", {});
  const OpResult fp8 = run_one(*v5e, make_gemm("g", 4096, 4096, 4096, DType::kFp8));
  const OpResult bf16 = run_one(*v5e, make_gemm("g", 4096, 4096, 4096, DType::kBf16));
  EXPECT_EQ(fp8.unit.label(), "mxu(fp8->bf16)");
  EXPECT_GE(fp8.compute_busy_s, bf16.compute_busy_s);
  // A GEMV's conversion (K x N weights at 2048 operations per clock) outlasts its 32 folds per
  // array: the vector unit sets the pace.
  const OpResult gemv8 = run_one(*v5e, make_gemm("g", 1, 8192, 8192, DType::kFp8));
  const double convert_s = (1.0 + 8192) * 8192 / (2048 * 1.5e9);
  EXPECT_GE(gemv8.compute_busy_s, convert_s * 0.999);
  const OpResult int4 = run_one(*v1, make_gemm("g", 1024, 4096, 4096, DType::kInt4));
  EXPECT_EQ(int4.unit.label(), "mxu(int4->int8)");
  EXPECT_FALSE(v1->supports(DType::kInt4, ComputeUnit::kMxu));
}

// A torus runs a ring per dimension at once: on TPU v4's 3-D torus an 8-chip all-reduce moves a
// third of a ring's bytes per port pair in 6 latency steps instead of 14.
TEST(TpuDevice, TorusCollectivesRunARingPerDimension) {
  const Op big = make_collective("ar", "all_reduce", 256.0 * 1024 * 1024, 8);
  const Op small = make_collective("ar", "all_reduce", 1024, 8);
  auto torus = preset_device("tpu-v4", {"op_overhead=0 s"});
  auto ring = preset_device("tpu-v4", {"op_overhead=0 s", "ici.torus_dims=1"});
  const double wire = 2.0 * 7 / 8 * 256 * 1024 * 1024;
  EXPECT_NEAR(run_one(*ring, big).bytes_per_level.back().second, wire, 1);
  EXPECT_NEAR(run_one(*torus, big).bytes_per_level.back().second, wire / 3, 1);
  EXPECT_NEAR(run_one(*torus, big).time_s / run_one(*ring, big).time_s, 1.0 / 3, 0.01);
  EXPECT_NEAR(run_one(*ring, small).time_s, 14 * 5e-6, 1e-7);  // link.latency 5 us per step
  EXPECT_NEAR(run_one(*torus, small).time_s, 6 * 5e-6, 1e-7);
  // Two chips span one dimension: a plain ring.
  const Op two = make_collective("ar", "all_reduce", 1e6, 2);
  EXPECT_EQ(run_one(*torus, two).time_s, run_one(*ring, two).time_s);
}

// Attention streams its minimum bytes (flash-style) whatever the buffer accounting.
TEST(TpuDevice, AttentionReportsItsMinimumTraffic) {
  const Op att = make_attention("a", 1, 8, 8, 64, 128, 1024, true, DType::kBf16);
  for (const char* overlap : {"hbm.overlap_ops=true", "hbm.overlap_ops=false"}) {
    auto dev = preset_device("systolic", {overlap});
    double bytes = 0;
    for (const auto& [level, b] : run_one(*dev, att).bytes_per_level)
      if (level != "link") bytes += b;
    EXPECT_NEAR(bytes, att.total_bytes(), 1) << overlap;
  }
}

// The vector unit works in whole registers of vpu.lanes elements, and a norm's row reduction
// folds a register in log2(lanes) steps: an RMSNorm row of 4,096 on TPU v4 is 4 registers x 4
// operations + 10 steps of 1,024 lanes; a row of 1,100 still fills 2 registers.
TEST(TpuDevice, VectorUnitWorksInWholeRegistersWithReductionSteps) {
  auto v4 = preset_device("tpu-v4", {});
  const double rate = 2048.0 * 2 * 1.05e9;  // vpu_per_clk x cores x clock
  const OpResult a = run_one(*v4, make_elementwise("n", EwKind::kRmsnorm, 64, 4096, DType::kBf16));
  EXPECT_NEAR(a.compute_busy_s, 64 * 1024 * (4.0 * 4 + 10) / rate, 1e-12);
  const OpResult b = run_one(*v4, make_elementwise("n", EwKind::kRmsnorm, 64, 1100, DType::kBf16));
  EXPECT_NEAR(b.compute_busy_s, 64 * 1024 * (2.0 * 4 + 10) / rate, 1e-12);
  // No reduction in an activation; softmax has two (maximum and sum).
  const OpResult g = run_one(*v4, make_elementwise("g", EwKind::kGelu, 64, 4096, DType::kBf16));
  EXPECT_NEAR(g.compute_busy_s, 64 * 1024 * (4.0 * 8) / rate, 1e-12);
  const OpResult sm = run_one(*v4, make_elementwise("s", EwKind::kSoftmax, 64, 4096, DType::kBf16));
  EXPECT_NEAR(sm.compute_busy_s, 64 * 1024 * (4.0 * 5 + 20) / rate, 1e-12);
}

}  // namespace
}  // namespace xpusim

namespace xpusim {
namespace {

// With accumulators the compiler blocks the output (m x n fp32 partial sums stay in the output
// buffer while K streams): a long-K GEMM reads X ceil(N / n) and W ceil(M / m) times instead of X
// once per column fold. 2 MiB of fp32 accumulators: 640 x 768 tiles on 128-wide arrays.
TEST(TpuDevice, AccumulatorsLetTheCompilerBlockALongKGemm) {
  const SystolicArray a{128, 128, Dataflow::kWs, 1};
  const int64_t M = 12288, K = 28672, N = 4096;
  const double ifmap = 8.0 * 1024 * 1024 / 2, filter = 4.0 * 1024 * 1024 / 2;
  const OperandTraffic rows = dram_traffic(a, M, K, N, ifmap, filter, true);
  const OperandTraffic blocked = dram_traffic(a, M, K, N, ifmap, filter, true, 524288);
  EXPECT_EQ(blocked.ifmap_words, double(M) * K * 6);    // ceil(4096 / 768)
  EXPECT_EQ(blocked.filter_words, double(K) * N * 20);  // ceil(12288 / 640)
  EXPECT_LT(blocked.ifmap_words + blocked.filter_words,
            0.5 * (rows.ifmap_words + rows.filter_words));
  // On TPU v5e that GEMM is bound by the arrays, not by HBM.
  auto dev = preset_device("tpu-v5e", {});
  const OpResult r = run_one(*dev, make_gemm("down", M, K, N, DType::kBf16));
  EXPECT_EQ(r.bound, Bound::kCompute);
  ASSERT_TRUE(r.array.has_value());
  EXPECT_GT(r.array->util, 0.9);
}

// A decode step over an 8-bit cache into bf16 arrays: the vector unit expands every cached K and
// V element first (vpu.kv_dequant_ops each); with enough operations per element that, not the
// arrays or HBM, sets the step's time. Prefill (fresh keys) pays nothing.
TEST(TpuDevice, AnEightBitKvCacheIsExpandedOnTheVectorUnit) {
  Op decode = make_attention("a", 96, 4, 4, 128, 1, 2048, true, DType::kBf16);
  decode.kv_dtype = DType::kInt8;
  finalize(decode);
  auto free = preset_device("tpu-v5e", {"vpu.kv_dequant_ops=0"});
  auto five = preset_device("tpu-v5e", {});
  const double t0 = run_one(*free, decode).time_s, t5 = run_one(*five, decode).time_s;
  // 96 x 4 heads x 2,048 keys x 128 x 2 (K, V) elements x 5 operations at 2,048 per clock.
  const double expand_s = 96.0 * 4 * 2048 * 128 * 2 * 5 / (2048 * 1.5e9);
  EXPECT_GT(t5, t0);
  EXPECT_NEAR(t5, expand_s, 0.05 * expand_s);
  Op prefill = make_attention("p", 1, 4, 4, 128, 512, 512, true, DType::kBf16);
  prefill.kv_dtype = DType::kInt8;
  finalize(prefill);
  EXPECT_EQ(run_one(*free, prefill).time_s, run_one(*five, prefill).time_s);
}

}  // namespace
}  // namespace xpusim
