// Unit tests of the GPU model's pieces: occupancy, the GEMM library heuristic (tiles, split-K,
// GEMV), wave quantisation in the CTA scheduler, bound classification, what the engine carries
// (HBM latency, overlap of waves with their loads), sparse and collective paths, the RoPE/KV-copy
// parameters, the padded query tile of flash decoding, and h200 = h100 + memory.
#include <gtest/gtest.h>

#include <cmath>

#include "arch/gpu/gpu_config.h"
#include "arch/gpu/gpu_device.h"
#include "arch/gpu/gpu_kernels.h"
#include "arch/registry.h"
#include "sim/config/config_store.h"

namespace xpusim {
namespace {

GpuConfig config_of(const std::string& preset) {
  ConfigStore store;
  ErrorList errors;
  GpuConfig c = gpu_schema().parse(store.load(preset, "hw"), errors);
  EXPECT_TRUE(errors.empty());
  return c;
}

double time_on(Device& dev, const Op& op) {
  Evaluation ev = dev.run({op});
  EXPECT_TRUE(ev.ok) << ev.reason;
  return ev.ok ? ev.results[0].time_s : -1;
}

std::unique_ptr<Device> device(const std::string& preset) {
  ConfigStore store;
  return make_device(store.load(preset, "hw"), preset);
}

TEST(GpuOccupancy, LimitedBySharedMemoryRegistersOrWarps) {
  GpuConfig c = config_of("h100");
  // A 64x128 bf16 GEMM CTA: 4 stages of (64+128) rows x 128 B = 96 KiB of 228 KiB.
  Occupancy big = occupancy(c, 256, 64, 4.0 * 192 * 128);
  EXPECT_EQ(big.ctas_per_sm, 2);
  EXPECT_EQ(big.limiter, "smem");
  // 4-warp CTAs without shared memory: 64 warps / 4 = 16.
  Occupancy small = occupancy(c, 128, 32, 0);
  EXPECT_EQ(small.ctas_per_sm, 16);
  EXPECT_EQ(small.limiter, "warps");
  // 255 registers x 256 threads = 65280 of 65536.
  Occupancy regs = occupancy(c, 256, 255, 0);
  EXPECT_EQ(regs.ctas_per_sm, 1);
  EXPECT_EQ(regs.limiter, "registers");
  EXPECT_EQ(occupancy(c, 32, 16, 0).ctas_per_sm, c.sm.max_ctas);
}

TEST(GpuGemm, LargeGemmTakesBigTilesWithoutSplitK) {
  GpuConfig c = config_of("h100");
  KernelPlan p = plan_gemm(c, make_gemm("g", 8192, 8192, 8192, DType::kBf16));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.tile_m * p.tile_n, 128 * 256) << p.kernel;
  EXPECT_EQ(p.split_k, 1) << p.kernel;
  EXPECT_EQ(p.unit, UnitUse{ComputeUnit::kTensorCore});
  // Compute bound near the calibrated efficiency of the datasheet peak.
  const double peak = c.sm.tensor.bf16 * c.tensor_clock_hz * double(c.sm.count);
  const double tflops = 2.0 * 8192.0 * 8192 * 8192 / plan_time_s(c, p, c.l2.bw_bytes_per_s);
  EXPECT_GT(tflops, 0.9 * c.gemm.efficiency.bf16 * peak);
  EXPECT_LT(tflops, 1.0 * c.gemm.efficiency.bf16 * peak);
}

TEST(GpuGemm, DecodeGemmStreamsItsWeightsAtHbmRate) {
  GpuConfig c = config_of("h100");
  KernelPlan p = plan_gemm(c, make_gemm("g", 1, 4096, 4096, DType::kBf16));
  ASSERT_TRUE(p.ok);
  // cuBLAS splits K here (nvjet 64x8 with splitKreduce, kernel names), and so does the model:
  // K >= small_m_split_min_k over few weight rows. The time is weight streaming plus the fixed
  // costs of the main kernel and of the reduction's own graph node.
  EXPECT_GT(p.split_k, 1) << p.kernel;
  const double stream = 4096.0 * 4096 * 2 / (c.hbm.bw_bytes_per_s * c.hbm_efficiency);
  const double t = plan_time_s(c, p, c.l2.bw_bytes_per_s);
  EXPECT_GT(t, stream);
  EXPECT_LT(t, stream + 2 * c.launch_overhead_s + c.gemm.fixed_s + c.gemm.split_k_reduce_s +
                   c.hbm.latency_s + 1e-6);
  // M = 1 runs the same tiled kernel as M = 8 on Hopper (no GEMV for aligned 16-bit rows).
  EXPECT_NEAR(t,
              plan_time_s(c, plan_gemm(c, make_gemm("g", 8, 4096, 4096, DType::kBf16)),
                          c.l2.bw_bytes_per_s),
              0.05 * t);
}

TEST(GpuGemm, FallbackKernelsFollowTheirNames) {
  GpuConfig c = config_of("h100");
  auto t = [&](int64_t M, int64_t K, int64_t N, DType dt) {
    KernelPlan p = plan_gemm(c, make_gemm("g", M, K, N, dt));
    EXPECT_TRUE(p.ok);
    return std::pair{plan_time_s(c, p, c.l2.bw_bytes_per_s), p};
  };
  // 8-byte-aligned rows (N = 6284) run the align2 kernels, as 4-byte-aligned rows (6282) do.
  EXPECT_NEAR(t(2048, 4096, 6284, DType::kBf16).first, t(2048, 4096, 6282, DType::kBf16).first,
              0.01 * t(2048, 4096, 6282, DType::kBf16).first);
  // At M <= 16 fp16 has a wmma kernel on odd rows, bf16 does not (sm75 has no bf16 wmma).
  auto fp16 = t(16, 12288, 12565, DType::kFp16), bf16 = t(16, 12288, 12565, DType::kBf16);
  EXPECT_EQ(fp16.second.tile_m, 16) << fp16.second.kernel;
  EXPECT_GE(bf16.second.tile_m, 128) << bf16.second.kernel;
  // Over long K the fallback splits K; it never streams K.
  auto odd = t(64, 12288, 6283, DType::kBf16);
  EXPECT_GT(odd.second.split_k, 1) << odd.second.kernel;
  EXPECT_EQ(t(4096, 4096, 50257, DType::kBf16).second.kernel.find("stream-k"), std::string::npos);
}

TEST(GpuGemm, SplitKPaysForItsReduction) {
  GpuConfig c = config_of("h100");
  const Op op = make_gemm("g", 256, 28672, 1024, DType::kBf16);  // few output tiles, long K
  KernelPlan p = plan_gemm(c, op);
  ASSERT_GT(p.split_k, 1) << p.kernel;
  // bf16: the reduction is a graph node of its own (a launch gap and splitKreduce's duration).
  GpuConfig free_split = c;
  free_split.gemm.split_k_reduce_s = 1e-12;
  const double with_cost = plan_time_s(c, p, c.l2.bw_bytes_per_s);
  const double without = plan_time_s(free_split, plan_gemm(free_split, op), c.l2.bw_bytes_per_s);
  EXPECT_GT(with_cost, without);
  EXPECT_LE(with_cost - without, c.gemm.split_k_reduce_s * (1 + 1e-9));
  // Other formats pay split_k_fixed beyond the main kernel.
  const Op tf = make_gemm("g", 256, 28672, 1024, DType::kTf32);
  KernelPlan pt = plan_gemm(c, tf);
  if (pt.split_k > 1) {
    GpuConfig free_fixed = c;
    free_fixed.gemm.split_k_fixed_s = 0;
    const double a = plan_time_s(c, pt, c.l2.bw_bytes_per_s);
    const double b = plan_time_s(free_fixed, plan_gemm(free_fixed, tf), c.l2.bw_bytes_per_s);
    EXPECT_GT(a, b);
    EXPECT_LE(a - b, c.gemm.split_k_fixed_s * (1 + 1e-9));
  }
}

TEST(GpuGemm, UnalignedRowsFallBackToASlowKernel) {
  GpuConfig c = config_of("h100");
  // N = 50257 (GPT-2's vocabulary) is not a multiple of 8 bf16 elements.
  KernelPlan odd = plan_gemm(c, make_gemm("g", 4096, 768, 50257, DType::kBf16));
  KernelPlan even = plan_gemm(c, make_gemm("g", 4096, 768, 50256, DType::kBf16));
  EXPECT_NE(odd.kernel.find("unaligned"), std::string::npos);
  EXPECT_GT(plan_time_s(c, odd, c.l2.bw_bytes_per_s),
            3 * plan_time_s(c, even, c.l2.bw_bytes_per_s));
}

TEST(GpuWaves, SplitWavesCountsFullWavesAndTail) {
  EXPECT_EQ(split_waves(264, 132).full, 2);
  EXPECT_EQ(split_waves(264, 132).tail_ctas, 0);
  EXPECT_EQ(split_waves(265, 132).full, 2);
  EXPECT_EQ(split_waves(265, 132).tail_ctas, 1);
  EXPECT_EQ(split_waves(5, 132).full, 0);
}

TEST(GpuWaves, OneCtaMoreThanTheSlotsCostsAWave) {
  // Non-causal attention has equal CTAs (one per head for a 128-query block), two per SM on
  // h100: as many heads as slots fill every slot once, and one more makes one SM run three.
  auto dev = device("h100");
  GpuConfig c = config_of("h100");
  auto attn = [&](int64_t heads) {
    return make_attention("a", 1, heads, heads, 128, 128, 4096, false, DType::kBf16);
  };
  KernelPlan p = plan_attention(c, attn(8));
  const int64_t slots = c.sm.count * p.ctas_per_sm;
  EXPECT_EQ(p.ctas_per_sm, 2);
  const double full = time_on(*dev, attn(slots));
  const double over = time_on(*dev, attn(slots + 1));
  EXPECT_GT(over / full, 1.3);
  EXPECT_NEAR(time_on(*dev, attn(slots - 1)), full, 1e-3 * full);
}

TEST(GpuBound, MemoryComputeAndLatency) {
  auto dev = device("h100");
  Evaluation ev =
      dev->run({make_gemm("decode", 1, 4096, 12288, DType::kBf16),
                make_gemm("prefill", 8192, 8192, 8192, DType::kBf16),
                make_elementwise("tiny", EwKind::kRmsnorm, 1, 768, DType::kBf16),
                make_attention("decode", 16, 32, 8, 128, 1, 8192, false, DType::kBf16)});
  ASSERT_TRUE(ev.ok) << ev.reason;
  EXPECT_EQ(ev.results[0].bound, Bound::kMemory);
  EXPECT_EQ(ev.results[1].bound, Bound::kCompute);
  EXPECT_EQ(ev.results[2].bound, Bound::kLatency);
  EXPECT_EQ(ev.results[3].bound, Bound::kMemory);
  EXPECT_EQ(ev.results[0].bytes_per_level[0].first, "hbm");
  EXPECT_NEAR(ev.results[0].cycles, ev.results[0].time_s * 1.98e9, 1.0);
}

// The engine, not the plan, carries HBM's first-byte latency: each kernel's first loads pay it
// once (the SMs keep the rest in flight), so raising it by d moves every kernel by d. (Without
// the power limit: a clock it lowers stretches the compute-bound part of a time, latency aside.)
TEST(GpuSim, HbmLatencyIsPaidOnceByEachKernelInTheEngine) {
  ConfigStore store;
  CfgNode base = store.load("h100", "hw");
  ErrorList errors;
  apply_override(base, "tdp=0 W", errors);
  CfgNode slow = base;
  apply_override(slow, "hbm.latency=2.5 us", errors);
  ASSERT_TRUE(errors.empty());
  const double d = 2.5e-6 - config_of("h100").hbm.latency_s;
  auto fast_dev = make_device(base, "h100"), slow_dev = make_device(slow, "h100-slow-hbm");
  for (const Op& op :
       {make_gemm("g", 777, 5120, 5120, DType::kBf16), make_gemm("g", 1, 8192, 28672, DType::kFp8),
        make_attention("a", 4, 32, 8, 128, 2048, 2048, true, DType::kBf16),
        make_elementwise("e", EwKind::kLayernorm, 4096, 8192, DType::kBf16)}) {
    const double t0 = time_on(*fast_dev, op), t1 = time_on(*slow_dev, op);
    // SystemC's 1 ps resolution over a few hundred waits.
    EXPECT_NEAR(t1 - t0, d, 1e-9) << op.signature();
  }
}

// The engine overlaps a memory-bound kernel's compute with its loads: the time is the HBM
// stream plus fixed costs, not their sum with the SM time.
TEST(GpuSim, ComputeHidesBehindLoadsInTheEngine) {
  GpuConfig c = config_of("h100");
  auto dev = device("h100");
  Op op = make_gemm("gemv", 1, 8192, 28672, DType::kBf16);
  Evaluation ev = dev->run({op});
  ASSERT_TRUE(ev.ok);
  const OpResult& r = ev.results[0];
  EXPECT_EQ(r.bound, Bound::kMemory);
  EXPECT_GT(r.compute_busy_s, 0.0);
  const double busy = r.busy_per_level[0].second;  // HBM occupancy
  EXPECT_LT(r.time_s, busy + r.compute_busy_s + r.overhead_s + c.hbm.latency_s);
  EXPECT_GT(r.time_s, busy + r.overhead_s);
}

TEST(GpuSim, KernelsRunBackToBackOnOneStream) {
  auto dev = device("h100");
  Op a = make_gemm("a", 64, 4096, 4096, DType::kBf16),
     b = make_elementwise("b", EwKind::kGelu, 64, 4096, DType::kBf16);
  Evaluation both = dev->run({a, b});
  ASSERT_TRUE(both.ok);
  EXPECT_NEAR(both.results[0].time_s, time_on(*dev, a), 1e-12);
  EXPECT_NEAR(both.results[1].time_s, time_on(*dev, b), 1e-12);
}

TEST(GpuPower, SustainedRunsKeepTheirTimeAndMixedStreamsClockUp) {
  // One kernel replayed on its own is the kernel datasets' condition: at the preset's own limit
  // (power.timing_tdp = tdp) its time is the time model's, at the clock the limit allows.
  auto dev = device("h100");
  auto* gpu = dynamic_cast<GpuDevice*>(dev.get());
  ASSERT_NE(gpu, nullptr);
  Op g = make_gemm("g", 8192, 8192, 8192, DType::kBf16),
     e = make_elementwise("e", EwKind::kResidualAdd, 2048, 4096, DType::kBf16);
  const OpResult rg = dev->run({g}).results[0], re = dev->run({e}).results[0];
  ASSERT_TRUE(rg.energy_j && rg.clock_hz && re.energy_j && re.clock_hz);
  // The large GEMM is held at the 700 W cap below the boost clock; the small add is not.
  EXPECT_NEAR(*rg.energy_j / rg.time_s, 700.0, 1.0);
  EXPECT_LT(*rg.clock_hz, 0.9 * 1.98e9);
  EXPECT_GT(*rg.clock_hz, 0.5 * 1.98e9);
  EXPECT_LT(*re.energy_j / re.time_s, 700.0);
  EXPECT_EQ(*re.clock_hz, 1.98e9);
  EXPECT_NEAR(gpu->run_stream({g}).results[0].time_s / rg.time_s, 1.0, 1e-3);
  // Between light kernels the GEMM keeps more of its clock (the limiter averages the power over
  // power.window), so it runs faster than sustained; the light kernels keep their time.
  Evaluation stream = gpu->run_stream({g, e, e, e, e, e, e, e, e});
  ASSERT_TRUE(stream.ok);
  const Op small = make_gemm("s", 2048, 4096, 4096, DType::kBf16);
  Evaluation mixed = gpu->run_stream({small, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e});
  const OpResult rs = dev->run({small}).results[0];
  EXPECT_LT(mixed.results[0].time_s, rs.time_s);
  EXPECT_GT(*mixed.results[0].clock_hz, *rs.clock_hz);
  EXPECT_NEAR(mixed.results[1].time_s, re.time_s, 1e-12);
  // What `xpusim run` does with its cached per-op results (Device::stream) is what run_stream
  // does with the same ops.
  const std::vector<Op> ops = {g, e, e, e, e, e, e, e, e};
  Evaluation sustained = dev->run(ops);
  ASSERT_TRUE(sustained.ok);
  std::vector<OpResult> inst = sustained.results;
  dev->stream(inst);
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_NEAR(inst[i].time_s, stream.results[i].time_s, 1e-12 + 1e-9 * inst[i].time_s) << i;
    EXPECT_NEAR(*inst[i].energy_j, *stream.results[i].energy_j, 1e-9 * *inst[i].energy_j) << i;
  }
}

TEST(GpuPower, ALowerLimitLowersTheClockAndStretchesComputeBoundTime) {
  ConfigStore store;
  CfgNode tree = store.load("h200", "hw");
  auto full = make_device(tree, "h200");
  ErrorList errors;
  apply_override(tree, "tdp=500 W", errors);
  ASSERT_TRUE(errors.empty());
  auto capped = make_device(tree, "h200");
  Op g = make_gemm("g", 8192, 8192, 8192, DType::kBf16),
     v = make_gemm("v", 1, 4096, 4096, DType::kBf16);
  const OpResult a = full->run({g}).results[0], b = capped->run({g}).results[0];
  EXPECT_LT(*b.clock_hz, *a.clock_hz);
  EXPECT_GT(b.time_s, 1.1 * a.time_s);  // tensor-bound: time follows the clock
  EXPECT_NEAR(*b.energy_j / b.time_s, 500.0, 1.0);
  // A GEMV streaming weights at a few hundred watts: under 500 W it barely slows down.
  const OpResult c = full->run({v}).results[0], d = capped->run({v}).results[0];
  EXPECT_LT(d.time_s, 1.05 * c.time_s);
  EXPECT_LE(*d.energy_j / d.time_s, 500.0 + 1e-6);
}

TEST(GpuL2Reuse, OperandsThatFitStayInL2BetweenCallsAndALargerFootprintKeepsAShare) {
  // h200: l2.reuse_whole = reuse_keep = 20 MiB (validation/gpu/energy/h200 L2-resident rows).
  GpuConfig c = config_of("h200");
  EXPECT_EQ(l2_reuse_hit_fraction(c, 0), 0.0);  // unknown: from HBM
  EXPECT_EQ(l2_reuse_hit_fraction(c, 16.0 * (1 << 20)), 1.0);
  EXPECT_NEAR(l2_reuse_hit_fraction(c, 32.0 * (1 << 20)), 20.0 / 32.0, 1e-12);
  EXPECT_NEAR(l2_reuse_hit_fraction(c, 80.0 * (1 << 20)), 20.0 / 80.0, 1e-12);
  auto dev = device("h200");
  // a + b on 512 x 4096 bf16 (12 MiB), called again and again on the same buffers.
  Op cold = make_elementwise("add", EwKind::kResidualAdd, 512, 4096, DType::kBf16);
  Op warm = cold;
  warm.reuse_bytes = cold.total_bytes();
  const OpResult a = dev->run({cold}).results[0], b = dev->run({warm}).results[0];
  EXPECT_GT(a.bytes_per_level[0].second, 0.0);
  EXPECT_EQ(b.bytes_per_level[0].second, 0.0);  // no HBM traffic
  EXPECT_EQ(b.bytes_per_level[1].second, a.bytes_per_level[1].second);  // the same L2 traffic
  EXPECT_LT(b.time_s, a.time_s);
  EXPECT_LT(*b.energy_j, *a.energy_j);
  // A rotation far beyond L2 is as good as cold.
  Op big = cold;
  big.reuse_bytes = 4e9;
  EXPECT_NEAR(dev->run({big}).results[0].bytes_per_level[0].second,
              a.bytes_per_level[0].second * (1 - 20.0 * (1 << 20) / 4e9), 1.0);
}

TEST(GpuIssue, TanhGeluIsIssueBoundOnAnH200AndTheCapLowersItsClock) {
  // 16384 x 16384 bf16 tanh GELU (validation/gpu/energy/h200: 0.320 ms, 1726-1732 MHz at the
  // 700 W cap): its ~35 FP32-pipe instructions per element take longer than HBM takes to stream
  // 4 bytes per element, so its time follows the clock the cap leaves; a residual add of as
  // many bytes streams at HBM's rate under the cap at the full clock.
  auto h200 = device("h200");
  const Op gelu = make_elementwise("gelu", EwKind::kGelu, 16384, 16384, DType::kBf16);
  const OpResult g = h200->run({gelu}).results[0];
  EXPECT_LT(*g.clock_hz, 1.85e9);
  EXPECT_GT(*g.clock_hz, 1.6e9);
  EXPECT_NEAR(*g.energy_j / g.time_s, 700.0, 1.0);
  const double issue_s = 16384.0 * 16384 * 34.8 / (132 * 128 * 1.98e9);
  EXPECT_GT(g.time_s, issue_s * 1.98e9 / *g.clock_hz);
  const Op add = make_elementwise("add", EwKind::kResidualAdd, 16384, 16384 * 2 / 3, DType::kBf16);
  const OpResult r = h200->run({add}).results[0];
  EXPECT_EQ(*r.clock_hz, 1.98e9);
  // On the H100 (3.35 TB/s) the same GELU is memory-bound: the issue floor does not bind.
  GpuConfig h100 = config_of("h100");
  KernelPlan p = plan_kernel(h100, gelu);
  EXPECT_LT(p.compute_s(), p.hbm_bytes() / (h100.hbm.bw_bytes_per_s * h100.hbm_efficiency));
}

TEST(GpuSparse, TwoFourIsSlowerThanDenseAtSmallMAndFasterAtLargeM) {
  auto dev = device("h100");
  auto ratio = [&](int64_t M) {
    return time_on(*dev, make_gemm("s", M, 4096, 12288, DType::kBf16, true)) /
           time_on(*dev, make_gemm("d", M, 4096, 12288, DType::kBf16));
  };
  EXPECT_GT(ratio(16), 1.5);    // measured ~1.9x slower (cuSPARSELt has no skinny kernel)
  EXPECT_LT(ratio(4096), 0.9);  // measured 1.1-1.4x faster
}

TEST(GpuGemm, Int8FollowsTheLibrarysTileRule) {
  GpuConfig c = config_of("h100");
  auto tile = [&](int64_t M, int64_t K, int64_t N) {
    KernelPlan p = plan_gemm(c, make_gemm("i", M, K, N, DType::kInt8));
    EXPECT_TRUE(p.ok);
    EXPECT_EQ(p.split_k, 1) << p.kernel;  // IMMA kernels never split K
    return std::pair{p.tile_m, p.tile_n};
  };
  // As the kernel names of the calibration rows show (validation/gpu/data/gemm_kernels.csv).
  EXPECT_EQ(tile(32, 2048, 8192), (std::pair<int64_t, int64_t>{64, 64}));      // one wave of 64x64
  EXPECT_EQ(tile(512, 2048, 8192), (std::pair<int64_t, int64_t>{64, 128}));    // 128x64 kernel
  EXPECT_EQ(tile(560, 8192, 4096), (std::pair<int64_t, int64_t>{128, 128}));   // long K
  EXPECT_EQ(tile(2048, 8192, 8192), (std::pair<int64_t, int64_t>{256, 128}));  // large, long K
  // Few CTAs over long K wait on their loads: 64 CTAs of 64x64 (6 stages), each K block at
  // least the load latency over the stages, whatever the bandwidth.
  const Op few = make_gemm("i", 32, 16384, 4096, DType::kInt8);
  const double t1 = plan_time_s(c, plan_gemm(c, few), c.l2.bw_bytes_per_s);
  const double floor = double(16384 / 128) * c.gemm.imma_load_latency_s / 6.0;
  EXPECT_GE(t1, floor);
  GpuConfig no_floor = c;
  no_floor.gemm.imma_load_latency_s = 0;
  EXPECT_LT(plan_time_s(no_floor, plan_gemm(no_floor, few), c.l2.bw_bytes_per_s), 0.9 * t1);
}

TEST(GpuSparse, ShortTokenTilesRunSlowlyAndSmallGridsSplitK) {
  GpuConfig c = config_of("h100");
  auto plan = [&](int64_t M, int64_t K, int64_t N) {
    KernelPlan p = plan_gemm(c, make_gemm("s", M, K, N, DType::kBf16, true));
    EXPECT_TRUE(p.ok);
    return p;
  };
  // One 128x256 tile shape, weight tiles first: M = 320 is 2 token tiles of 64 weight tiles each.
  KernelPlan p = plan(320, 8192, 8192);
  EXPECT_EQ(p.ctas, 128) << p.kernel;
  EXPECT_EQ(p.tile_m, 256);
  // A full token tile runs the fast main loop (measured on an H100: 56 us at M = 256, 110 us at
  // M = 64, N = K = 8192).
  auto t = [&](int64_t M, int64_t K, int64_t N) {
    return plan_time_s(c, plan(M, K, N), c.l2.bw_bytes_per_s);
  };
  EXPECT_LT(t(256, 8192, 8192), 0.7 * t(64, 8192, 8192));
  // The slow CTAs share a whole-chip load rate: more of them take longer per K step.
  EXPECT_GT(t(64, 8192, 8192) / t(64, 8192, 2048), 1.5);
  // 32 CTAs over 224 K steps take the segment-K kernel (kernel names, gemm_kernels.csv).
  KernelPlan seg = plan(16, 14336, 4096);
  EXPECT_EQ(seg.split_k, 2) << seg.kernel;
  EXPECT_EQ(seg.ctas, 64);
  EXPECT_EQ(plan(16, 4096, 4096).split_k, 1);
}

TEST(GpuFormats, EachFormatHasItsUnitOrAReason) {
  auto h100 = device("h100"), a100 = device("a100");
  EXPECT_EQ(h100->run({make_gemm("g", 64, 4096, 4096, DType::kFp32)}).results[0].unit.label(),
            "cuda_core");
  EXPECT_EQ(h100->run({make_gemm("g", 64, 4096, 4096, DType::kFp8)}).results[0].unit,
            UnitUse{ComputeUnit::kTensorCore});
  Evaluation fp8 = a100->run({make_gemm("g", 64, 4096, 4096, DType::kFp8)});
  EXPECT_FALSE(fp8.ok);
  EXPECT_NE(fp8.reason.find("no fp8 datapath"), std::string::npos) << fp8.reason;
  // fp32 without tensor cores is far slower than tf32 at large M (measured 51 vs 367 TFLOP/s).
  EXPECT_GT(time_on(*h100, make_gemm("g", 8192, 8192, 8192, DType::kFp32)),
            4 * time_on(*h100, make_gemm("g", 8192, 8192, 8192, DType::kTf32)));
}

TEST(GpuCollective, AllReduceRunsOnTheLink) {
  auto dev = device("h100");
  Evaluation ev = dev->run({make_collective("ar", "all_reduce", 64e6, 4)});
  ASSERT_TRUE(ev.ok) << ev.reason;
  EXPECT_EQ(ev.results[0].unit.label(), "link");
  // Ring all-reduce puts 2(p-1)/p of the message on the wire: 96 MB at NCCL Simple's fraction of
  // 450 GB/s (0.76), ~281 us, after its fixed and per-step latencies (10 + 6 x 3.4 us).
  GpuConfig c = config_of("h100");
  const double simple = c.collective.simple.base_s + 6 * c.collective.simple.step_s +
                        96e6 / (c.collective.simple.efficiency * 450e9);
  EXPECT_NEAR(ev.results[0].time_s, simple + c.launch_overhead_s, 1e-3 * simple);
  // Small messages take the LL protocol: its latency, whatever the size.
  KernelPlan small = plan_collective(c, make_collective("ar", "all_reduce", 1024, 4));
  EXPECT_NE(small.kernel.find("LL"), std::string::npos) << small.kernel;
  const double ll = c.collective.ll.base_s + 6 * c.collective.ll.step_s;
  EXPECT_NEAR(plan_time_s(c, small, c.l2.bw_bytes_per_s), ll + c.launch_overhead_s, 0.05 * ll);
  // Without protocol values the link's alpha-beta cost applies (per-step link.latency).
  c.collective = {};
  KernelPlan ab = plan_collective(c, make_collective("ar", "all_reduce", 1024, 4));
  EXPECT_DOUBLE_EQ(ab.fill_s, 6 * c.link.latency_s);
}

TEST(GpuElementwise, SchemaDeclaresOneKernelPerCalibratedKind) {
  const SchemaBase& s = gpu_schema();
  for (const EwKindInfo& e : ew_kinds()) {
    const std::string key = "kernels.elementwise." + std::string(e.name) + ".bw";
    EXPECT_EQ(s.find(key) != nullptr, e.calibrated) << key;
  }
  EXPECT_NE(s.find("kernels.elementwise.other.fixed"), nullptr);
  // Each key binds its own kernel (configs/hw/gpu/h100.yaml); the uncalibrated kinds take `other`.
  const GpuConfig c = config_of("h100");
  const CfgNode tree = ConfigStore().load("h100", "hw");
  auto value = [&](const char* path) { return std::stod(tree.find_path(path)->scalar); };
  EXPECT_DOUBLE_EQ(c.ew.of(EwKind::kRmsnorm).bw, value("kernels.elementwise.rmsnorm.bw"));
  EXPECT_DOUBLE_EQ(c.ew.of(EwKind::kSoftmax).cycles_per_elem,
                   value("kernels.elementwise.softmax.cycles_per_elem"));
  EXPECT_DOUBLE_EQ(c.ew.of(EwKind::kKvAppend).bw, value("kernels.elementwise.kv_append.bw"));
  EXPECT_DOUBLE_EQ(c.ew.of(EwKind::kEmbedding).bw, value("kernels.elementwise.other.bw"));
  EXPECT_EQ(&c.ew.of(EwKind::kRelu), &c.ew.other);
  EXPECT_EQ(&c.ew.of(std::nullopt), &c.ew.other);
  EXPECT_EQ(&c.ew.of(EwKind::kSoftmax), &c.ew.kernel[ew_index(EwKind::kSoftmax)]);
}

TEST(GpuElementwise, RopeAndKvAppendHaveTheirOwnMeasuredParameters) {
  // Both were fitted on their measured rows (validation/gpu/data); `other` no longer sets them.
  GpuConfig c = config_of("h100");
  const Op rope = make_elementwise("r", EwKind::kRope, 16384, 4096, DType::kBf16);
  const Op kv = make_kv_append("k", 16384, 1, 16, 128, DType::kBf16);
  auto t = [&](const Op& op) {
    return plan_time_s(c, plan_elementwise(c, op), c.l2.bw_bytes_per_s);
  };
  const double rope_s = t(rope), kv_s = t(kv);
  c.ew.other.bw *= 0.5;
  c.ew.other.fixed_s += 1e-6;
  EXPECT_DOUBLE_EQ(t(rope), rope_s);
  EXPECT_DOUBLE_EQ(t(kv), kv_s);
  // At 16384 rows both stream 268 MB: half the bandwidth nearly doubles the time.
  c.ew.kernel[ew_index(EwKind::kRope)].bw *= 0.5;
  c.ew.kernel[ew_index(EwKind::kKvAppend)].bw *= 0.5;
  EXPECT_GT(t(rope), 1.8 * rope_s);
  EXPECT_GT(t(kv), 1.8 * kv_s);
}

TEST(GpuAttention, UnsplitFlashDecodeIsBoundByItsPaddedQueryTile) {
  // FA2 splits the KV only when B x kv_heads is under 0.8 x 2 CTAs x SMs. Unsplit, its forward
  // kernel computes a whole 128-query tile per (batch, kv head) for the few real queries: that
  // tensor work, at flash attention's mma rate, bounds the kernel on the SMs, so the H200's
  // faster memory does not speed it up (measured: 2.7 TB/s of KV on both cards). Split-KV
  // decoding of fewer heads (64-query tiles, 2 CTAs per SM) still streams at HBM speed.
  GpuConfig c = config_of("h100");
  Op unsplit = make_attention("d", 16, 32, 32, 128, 1, 8192, false, DType::kBf16);
  KernelPlan p = plan_attention(c, unsplit);
  EXPECT_EQ(p.split_k, 1) << p.kernel;
  EXPECT_EQ(p.tile_m, 128);
  EXPECT_EQ(p.ctas, 16 * 32);
  const double rate_sm = c.sm.tensor.bf16 * c.tensor_clock_hz * c.attention.efficiency;
  const double tile_s = 4.0 * 128 * 8192 * 128 / rate_sm;  // one CTA's padded tile
  // 512 CTAs on 132 SMs: the busiest SM runs 4, less the first key block in the fixed latency.
  EXPECT_NEAR(p.compute_s(), 4 * tile_s - 4.0 * 128 * 64 * 128 / rate_sm, 1e-3 * tile_s);
  EXPECT_GT(p.compute_s(), p.hbm_bytes() / (c.hbm.bw_bytes_per_s * c.hbm_efficiency));

  Op split = make_attention("d", 4, 32, 32, 128, 1, 32768, false, DType::kBf16);
  KernelPlan q = plan_attention(c, split);
  EXPECT_GT(q.split_k, 1) << q.kernel;  // 128 heads < 0.8 x 264
  EXPECT_EQ(q.tile_m, 64);

  auto d100 = device("h100"), d200 = device("h200");
  EXPECT_NEAR(time_on(*d100, unsplit) / time_on(*d200, unsplit), 1.0, 0.01);
  EXPECT_GT(time_on(*d100, split) / time_on(*d200, split), 1.25);
}

TEST(GpuPresets, H200IsH100WithOtherMemory) {
  GpuConfig h100 = config_of("h100"), h200 = config_of("h200");
  EXPECT_EQ(h100.sm.count, h200.sm.count);
  EXPECT_EQ(h100.clock_hz, h200.clock_hz);
  EXPECT_EQ(h100.sm.tensor.bf16, h200.sm.tensor.bf16);
  EXPECT_EQ(h100.gemm.efficiency.bf16, h200.gemm.efficiency.bf16);
  EXPECT_EQ(h100.attention.efficiency, h200.attention.efficiency);
  EXPECT_EQ(h100.l2.bw_bytes_per_s, h200.l2.bw_bytes_per_s);
  EXPECT_EQ(h100.hbm_efficiency, h200.hbm_efficiency);
  EXPECT_GT(h200.hbm.bw_bytes_per_s, h100.hbm.bw_bytes_per_s);
  EXPECT_GT(h200.hbm.size_bytes, h100.hbm.size_bytes);

  auto d100 = device("h100"), d200 = device("h200");
  // Compute-bound: the same time. Weight streaming: faster by about the bandwidth ratio.
  Op big = make_gemm("g", 8192, 8192, 8192, DType::kBf16);
  EXPECT_NEAR(time_on(*d200, big) / time_on(*d100, big), 1.0, 0.02);
  Op gemv = make_gemm("g", 1, 8192, 57344, DType::kBf16);
  const double speedup = time_on(*d100, gemv) / time_on(*d200, gemv);
  EXPECT_GT(speedup, 1.25);
  EXPECT_LT(speedup, 4.8 / 3.35 + 0.01);
}

// int4 x int4 runs where the tensor cores multiply int4 (the A100) and nowhere else: the H100,
// which has no int4 tensor path, says so instead of timing a bf16 GEMM (issue 11).
TEST(GpuFormats, Int4RunsOnlyOnAnInt4TensorPath) {
  auto a100 = device("a100"), h100 = device("h100");
  const Op i4 = make_gemm("g", 4096, 4096, 4096, DType::kInt4),
           i8 = make_gemm("g", 4096, 4096, 4096, DType::kInt8);
  Evaluation a = a100->run({i4, i8});
  ASSERT_TRUE(a.ok) << a.reason;
  EXPECT_LT(a.results[0].time_s, 0.6 * a.results[1].time_s);  // twice int8's peak
  // On Ampere the IMMA kernels are the full-rate path: int8 beats bf16 on a compute-bound GEMM
  // (the a100 preset once copied h100's mma.sync-on-Hopper fraction and ran int8 slower).
  Evaluation bf = a100->run({make_gemm("g", 4096, 4096, 4096, DType::kBf16)});
  ASSERT_TRUE(bf.ok);
  EXPECT_LT(a.results[1].time_s, 0.75 * bf.results[0].time_s);
  Evaluation h = h100->run({i4});
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("no int4 datapath"), std::string::npos) << h.reason;
  EXPECT_TRUE(a100->supports(DType::kInt4, ComputeUnit::kTensorCore));
  EXPECT_FALSE(h100->supports(DType::kInt4, ComputeUnit::kTensorCore));
}

// An 8-bit KV cache runs FlashInfer's CUDA-core decode kernel (what vLLM picks for it): no padded
// query tile, so a long-context batch that FlashAttention-2's tile makes compute-bound becomes
// memory-bound and the 8-bit stream halves it (issue 11: fp8 KV used to change nothing here).
TEST(GpuAttention, EightBitKvDecodeStreamsHalfTheBytes) {
  auto dev = device("h100");
  Op bf = make_attention("a", 64, 32, 8, 128, 1, 8192, true, DType::kBf16);
  Op f8 = bf;
  f8.kv_dtype = DType::kFp8;
  finalize(f8);
  Evaluation ev = dev->run({bf, f8});
  ASSERT_TRUE(ev.ok) << ev.reason;
  EXPECT_EQ(ev.results[0].bound, Bound::kCompute);  // FA2's padded 128-query tile
  EXPECT_EQ(ev.results[1].bound, Bound::kMemory);
  EXPECT_NEAR(f8.in_bytes / bf.in_bytes, 0.5, 0.01);
  EXPECT_LT(ev.results[1].time_s, 0.6 * ev.results[0].time_s);
  // Memory-bound: within 10 % of streaming its bytes at the achievable HBM rate plus fixed costs.
  const GpuConfig c = config_of("h100");
  const double stream = (f8.in_bytes + f8.out_bytes) / (c.hbm.bw_bytes_per_s * c.hbm_efficiency);
  EXPECT_GT(ev.results[1].time_s, stream);
  EXPECT_LT(ev.results[1].time_s,
            1.1 * stream + 2 * c.launch_overhead_s + c.attention.decode_fixed_s + c.hbm.latency_s);
}

}  // namespace
}  // namespace xpusim

namespace xpusim {
namespace {

// A device memcpy is one kernel that reads and writes each byte once at copy.bw of HBM's
// achievable rate (validation/gpu/energy: 4.0-4.2 TB/s on the H200), not two KV-cache copies;
// from memcpy.large_from bytes per call on it runs at memcpy.large_bw (2.77 TB/s on the H200).
TEST(GpuElementwise, MemcpyIsOneStreamingCopyKernel) {
  const GpuConfig c = config_of("h200");
  ASSERT_GT(c.memcpy_d2d.large_from_bytes, 448.0 * (1 << 20));
  ASSERT_LE(c.memcpy_d2d.large_from_bytes, 512.0 * (1 << 20));
  auto rate_of = [&](int64_t T) {
    const Op copy = make_elementwise("memcpy", EwKind::kCopy, T, 4096, DType::kBf16);
    EXPECT_DOUBLE_EQ(copy.total_bytes(), 2.0 * double(T) * 4096 * 2);
    const KernelPlan p = plan_kernel(c, copy);
    EXPECT_TRUE(p.ok);
    return copy.total_bytes() / plan_time_s(c, p, c.l2.bw_bytes_per_s);
  };
  const double hbm = c.hbm.bw_bytes_per_s * c.hbm_efficiency;
  const double small = hbm * c.ew.of(EwKind::kCopy).bw, large = hbm * c.memcpy_d2d.large_bw;
  EXPECT_NEAR(rate_of(32768), small, 0.03 * small);  // 256 MiB
  EXPECT_NEAR(rate_of(65536), large, 0.03 * large);  // 512 MiB
  EXPECT_LT(large, 0.7 * small);
}

// Eager SiLU·mul on the strided halves: its time per element follows the issue floor on a large
// grid (and the clock), and a two-token call stays latency-bound (no floor).
TEST(GpuElementwise, EagerStridedSiluMulIsIssueBoundOnLargeGrids) {
  GpuConfig c = config_of("h200");
  ASSERT_GT(c.eager.strided.issue_per_elem, 0);
  auto plan_of = [&](int64_t T) {
    Op op = make_elementwise("silu", EwKind::kSiluMul, T, 11008, DType::kBf16);
    op.ew_impl = EwImpl::kEager;
    return plan_kernel(c, op);
  };
  const KernelPlan big = plan_of(16384);
  ASSERT_TRUE(big.ok);
  EXPECT_TRUE(big.sm_time_at_nominal);
  const double slots = 2.0 * 16384 * 11008 * c.eager.strided.issue_per_elem;
  EXPECT_DOUBLE_EQ(big.int_ops, slots);  // integer/load lane-instructions (energy.int_op)
  EXPECT_DOUBLE_EQ(big.executed_flops, 0);
  const double issue_s = slots / (double(c.sm.count) * c.sm.fp32_per_clk / 2 * c.clock_hz);
  EXPECT_GE(plan_time_s(c, big, c.l2.bw_bytes_per_s), issue_s);
  const KernelPlan tiny = plan_of(2);
  ASSERT_TRUE(tiny.ok);
  EXPECT_FALSE(tiny.sm_time_at_nominal);
  c.eager.strided.issue_per_elem = 0;  // without the floor the large call is HBM-bound, faster
  EXPECT_LT(plan_time_s(c, plan_of(16384), c.l2.bw_bytes_per_s), issue_s);
}

}  // namespace
}  // namespace xpusim
