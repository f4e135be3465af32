// What the shared engine carries for every family: a memory's latency and the DMA's buffer
// stages move an operator's time as the engine's pipeline says (GPU: tests/unit/
// test_gpu_model.cpp), and several devices in one simulation (a pipeline and its bubble, a
// collective's members waiting for each other).
#include <gtest/gtest.h>

#include <stdexcept>

#include "arch/registry.h"
#include "device_helpers.h"
#include "sim/config/config_store.h"
#include "sim/engine/multi_device.h"

namespace xpusim {
namespace {

using testing::preset_device;

OpResult run_one(Device& dev, const Op& op) {
  Evaluation ev = dev.run({op});
  EXPECT_TRUE(ev.ok) << ev.reason;
  return ev.ok ? ev.results[0] : OpResult{};
}

// With one buffer stage the CPU's DMA loads a block only after the previous block's compute, so
// every block pays its load, the DRAM latency and its compute in turn.
TEST(Device, SupportsAnswersPerUnitAndFormat) {
  auto h100 = preset_device("h100", {}), a100 = preset_device("a100", {});
  EXPECT_TRUE(h100->supports(DType::kFp8, ComputeUnit::kTensorCore));
  EXPECT_FALSE(a100->supports(DType::kFp8, ComputeUnit::kTensorCore));
  EXPECT_TRUE(a100->supports(DType::kInt8, ComputeUnit::kTensorCore));
  EXPECT_TRUE(h100->supports(DType::kFp32, ComputeUnit::kCudaCore));
  EXPECT_FALSE(h100->supports(DType::kBf16, ComputeUnit::kCudaCore));
  EXPECT_FALSE(h100->supports(DType::kBf16, ComputeUnit::kAmx));
  auto xeon = preset_device("xeon-8480", {}), zen = preset_device("zen4-2c", {});
  auto genoa = preset_device("epyc-9654", {});
  EXPECT_TRUE(xeon->supports(DType::kBf16, ComputeUnit::kAmx));
  EXPECT_FALSE(xeon->supports(DType::kFp8, ComputeUnit::kAmx));
  EXPECT_TRUE(xeon->supports(DType::kInt8, ComputeUnit::kSimd));
  // The development machine is a Zen 3 (AVX2, no AVX512_BF16): bf16 has no datapath there;
  // Zen 4 (epyc-9654) has AVX512_BF16 and no AMX.
  EXPECT_FALSE(zen->supports(DType::kBf16, ComputeUnit::kAmx));
  EXPECT_FALSE(zen->supports(DType::kBf16, ComputeUnit::kSimd));
  EXPECT_TRUE(zen->supports(DType::kFp32, ComputeUnit::kSimd));
  EXPECT_FALSE(genoa->supports(DType::kBf16, ComputeUnit::kAmx));
  EXPECT_TRUE(genoa->supports(DType::kBf16, ComputeUnit::kSimd));
  EXPECT_FALSE(zen->supports(DType::kBf16, ComputeUnit::kTensorCore));
  auto v4 = preset_device("tpu-v4", {});
  EXPECT_TRUE(v4->supports(DType::kBf16, ComputeUnit::kMxu));
  EXPECT_FALSE(v4->supports(DType::kFp8, ComputeUnit::kMxu));
}

TEST(Device, SupportsAgreesWithTheUnitEachGemmRunsOn) {
  // A GEMM that runs reports its unit; the unit supports the format exactly when the GEMM ran in
  // it natively (not expanded from int4). A GEMM that cannot run has no unit for its format.
  const DType formats[] = {DType::kFp32, DType::kTf32, DType::kBf16, DType::kFp16,
                           DType::kFp8,  DType::kInt8, DType::kInt4};
  for (const char* hw : {"a100", "h100", "h200", "tpu-v1", "tpu-v4", "tpu-v5e", "xeon-8480",
                         "epyc-9654", "spr-16c", "zen4-2c", "emr-16c", "epyc-milan-2c"}) {
    auto dev = preset_device(hw, {});
    for (DType d : formats) {
      Evaluation ev = dev->run({make_gemm("g", 64, 256, 256, d)});
      if (ev.ok) {
        const UnitUse u = ev.results[0].unit;
        EXPECT_EQ(dev->supports(d, u.unit), u.path == UnitPath::kNative)
            << hw << " " << dtype_name(d) << " " << u.label();
      } else {
        for (ComputeUnit u : {ComputeUnit::kTensorCore, ComputeUnit::kCudaCore, ComputeUnit::kMxu,
                              ComputeUnit::kAmx, ComputeUnit::kSimd})
          EXPECT_FALSE(dev->supports(d, u)) << hw << " " << dtype_name(d) << " " << ev.reason;
      }
    }
  }
}

// The CPU's cores are concurrent processes on shared DRAM: a decode GEMV speeds up with threads
// while the cores' own load rates (misses in flight over the latency) are the limit, and stops at
// the DRAM's bandwidth.
TEST(EngineFamilies, CpuThreadScalingComesFromPerCoreLoadsAndSharedDram) {
  Op op = make_gemm("gemv", 1, 4096, 12288, DType::kFp32);
  auto dev = preset_device(
      "xeon-8480", {"op_overhead=0 s", "parallel.fork_join=0 s", "parallel.per_thread=0 s",
                    "kernels.torch.fp32.call=0 s", "core.outstanding_misses=32",
                    "dram.latency=128 ns", "dram.bw=200 GB/s"});
  auto time_at = [&](int threads) {
    op.threads = threads;
    return run_one(*dev, op).time_s;
  };
  const double w = 4096.0 * 12288 * 4;
  const double core = 32 * 64 / 128e-9;  // 16 GB/s per core
  EXPECT_NEAR(time_at(1), w / core, 0.05 * w / core);
  EXPECT_NEAR(time_at(2), time_at(1) / 2, 0.05 * time_at(1) / 2);
  EXPECT_NEAR(time_at(56), w / 200e9, 0.05 * w / 200e9);
  EXPECT_GT(time_at(8) / time_at(16), 1.3);
}

// A library that repacks plain weights in every call loads, repacks and computes a block in turn
// on the same core; a GEMV that streams the weights overlaps its loads with the math.
TEST(EngineFamilies, CpuWeightRepackingSerialisesWithTheLoads) {
  Op op = make_gemm("g", 1, 4096, 4096, DType::kBf16);
  op.threads = 1;
  auto slow = preset_device("xeon-8480", {"kernels.torch.bf16.pack_bw=10 GB/s",
                                          "kernels.torch.bf16.aliased_pack_bw=10 GB/s"});
  auto none = preset_device("xeon-8480", {"kernels.torch.bf16.pack_bw=0 B/s"});
  const double a = run_one(*slow, op).time_s, b = run_one(*none, op).time_s;
  EXPECT_GT(a - b, 0.8 * 4096.0 * 4096 * 2 / 10e9 * 3.0 / 3.8);
}

// A TPU's memory-bound operator streams HBM behind a two-stage DMA: a longer first-byte latency
// is exposed once per operator, as long as a block's load outlasts it.
TEST(EngineFamilies, TpuHbmLatencyIsExposedOncePerStreamingOp) {
  const Op op = make_gemm("gemv", 1, 8192, 8192, DType::kBf16);
  auto base = preset_device("tpu-v4", {"hbm.latency=500 ns"});
  auto slow = preset_device("tpu-v4", {"hbm.latency=3 us"});
  const OpResult a = run_one(*base, op), b = run_one(*slow, op);
  EXPECT_EQ(a.bound, Bound::kMemory);
  EXPECT_NEAR(b.time_s - a.time_s, 2.5e-6, 1e-9);
}

// The design card's pipeline check: equal stages of time T and m micro-batches take
// (stages + m - 1) x T when hand-offs cost nothing.
TEST(MultiDevice, PipelineBubbleMatchesTheClosedForm) {
  const MemLevelSpec free_link{"link", 0, 1e30, 0, 0};
  for (int stages : {1, 2, 4, 8})
    for (int64_t m : {1, 3, 8, 32}) {
      const double T = 1.7e-3;
      const auto r = simulate_pipeline(std::vector<double>(size_t(stages), T), m, 0, free_link);
      const double closed = double(stages + m - 1) * T;
      EXPECT_NEAR(r.makespan_s / closed, 1.0, 0.01) << stages << " stages, " << m << " micro";
    }
}

// Hand-offs cost the link's time, and the slowest stage sets the pace.
TEST(MultiDevice, PipelineWithUnequalStagesAndASlowLink) {
  const MemLevelSpec link{"link", 0, 1e9, 1e-6, 0};              // 1 GB/s, 1 us
  const auto r = simulate_pipeline({1e-3, 3e-3}, 4, 1e6, link);  // 1 ms per hand-off
  // Stage 0: micro-batches at 1, 2, 3, 4 ms; each arrives 1 ms + 1 us later at stage 1, which
  // then needs 3 ms each: 2.001 + 4 x 3 ms.
  EXPECT_NEAR(r.makespan_s, 2.001e-3 + 12e-3, 1e-9);
  EXPECT_GT(r.devices[1].wait_s, 0.0);
}

// A collective starts when its last member arrives and ends when the slowest is through.
TEST(MultiDevice, CollectiveMembersWaitForEachOther) {
  const MemLevelSpec link{"link", 0, 1e11, 0, 0};
  std::vector<std::vector<DeviceStep>> p = {
      {DeviceStep::compute(1e-3), DeviceStep::collective(0, 1e8, 5e-6)},
      {DeviceStep::compute(2e-3), DeviceStep::collective(0, 1e8, 5e-6)}};
  const auto r = simulate_devices(p, link);
  EXPECT_NEAR(r.makespan_s, 2e-3 + 1e8 / 1e11 + 5e-6, 1e-12);
  EXPECT_NEAR(r.devices[0].wait_s, 1e-3 + 1e-3 + 5e-6, 1e-12);
}

TEST(MultiDevice, ADeadlockIsReportedNotHung) {
  const MemLevelSpec link{"link", 0, 1e11, 0, 0};
  EXPECT_THROW(simulate_devices({{DeviceStep::recv(1)}, {DeviceStep::compute(1e-6)}}, link),
               std::runtime_error);
  EXPECT_THROW(simulate_devices({{DeviceStep::send(3, 1)}}, link), std::invalid_argument);
}

}  // namespace
}  // namespace xpusim
