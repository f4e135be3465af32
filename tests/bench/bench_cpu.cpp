// Simulator wall time of the multicore CPU model (cold op cache each iteration): one llama2-7b
// decode step at context 512 on xeon-8480, 56 cores (target: < 10 ms, issue 13), and the
// prefill of a 512-token prompt. Run: build/<dir>/tests/bench/bench_cpu
#include <benchmark/benchmark.h>

#include "bench_main.h"
#include "bench_point.h"

namespace xpusim {
namespace {

void BM_CpuLlama7b(benchmark::State& state, Phase phase, int64_t prompt, int64_t ctx) {
  cold_point_loop(state, "xeon-8480", "llama2-7b", phase, prompt, ctx);
}
BENCHMARK_CAPTURE(BM_CpuLlama7b, decode_ctx512, Phase::kDecode, 0, 512)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_CpuLlama7b, prefill_512, Phase::kPrefill, 512, 512)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace xpusim

int main(int argc, char** argv) { return run_simulator_benchmarks(argc, argv); }
