// Simulator wall time of the multicore CPU model (cold op cache each iteration): one llama2-7b
// decode step at context 512 on xeon-8480, 56 cores (target: < 10 ms, issue 13), and the
// prefill of a 512-token prompt. Run: build/<dir>/tests/bench/bench_cpu
#include <benchmark/benchmark.h>

#include "arch/registry.h"
#include "bench_main.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "workloads/model.h"

namespace xpusim {
namespace {

// The simulation runs on a worker thread, so wall time (UseRealTime) is the honest measure.
void BM_CpuLlama7b(benchmark::State& state, Phase phase, int64_t prompt, int64_t ctx) {
  ConfigStore store;
  auto dev = make_device(store.load("xeon-8480", "hw"), "xeon-8480");
  ModelConfig model = parse_model(store.load("llama2-7b", "models"));
  PointSpec spec;
  spec.phase = phase;
  spec.batch = 1;
  spec.prompt = prompt;
  spec.ctx = ctx;
  for (auto _ : state) {
    OpCache cache;  // cold: every unique operator is planned and simulated
    auto r = evaluate_point(*dev, cache, model, spec);
    if (!r.ok) state.SkipWithError(r.reason.c_str());
    benchmark::DoNotOptimize(r);
  }
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
