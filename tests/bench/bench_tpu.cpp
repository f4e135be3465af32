// The TPU model's speed on layers SCALE-Sim v2 also ran here (validation/tpu/scalesim_calc.csv,
// column scalesim_wall_s: its Python time for the same layer, stall-free CALC mode). One
// evaluation = the device's whole run of one GEMM on a fresh SystemC context, no op cache.
// Run: build/bench/tests/bench/bench_tpu
#include <benchmark/benchmark.h>

#include "arch/registry.h"
#include "bench_main.h"
#include "sim/config/config_store.h"
#include "sim/config/config_tree.h"

namespace xpusim {
namespace {

// tiny.mlp.m1 (M=1, K=128, N=512) on a 64x64 input-stationary array: 1,403 cycles; SCALE-Sim took
// 19.05 s; on a 32x32 array: 2,423 cycles, SCALE-Sim 13.77 s.
void BM_SystolicLayer(benchmark::State& state, int64_t M, int64_t K, int64_t N, int64_t R,
                      const char* dataflow) {
  ConfigStore store;
  CfgNode tree = store.load("systolic", "hw");
  ErrorList errors;
  for (const std::string& s :
       {"mxu.rows=" + std::to_string(R), "mxu.cols=" + std::to_string(R),
        std::string("mxu.dataflow=") + dataflow, std::string("hbm.mode=stall_free")})
    apply_override(tree, s, errors);
  auto dev = make_device(tree, "systolic");
  Op op = make_gemm("g", M, K, N, DType::kInt8);
  for (auto _ : state) benchmark::DoNotOptimize(dev->run({op}));
}
BENCHMARK_CAPTURE(BM_SystolicLayer, tiny_mlp_m1_is_64, 1, 128, 512, 64, "is")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SystolicLayer, tiny_mlp_m1_is_32, 1, 128, 512, 32, "is")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace xpusim

int main(int argc, char** argv) { return run_simulator_benchmarks(argc, argv); }
