// Simulator speed: operators simulated per second by the SystemC engine (cold, no op cache), and
// whole experiment points from a cold cache. Run: build/bench/tests/bench/bench_engine
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "arch/registry.h"
#include "bench_main.h"
#include "sim/config/config_store.h"
#include "sim/engine/engine.h"
#include "sim/run/experiment.h"
#include "workloads/graph.h"

namespace xpusim {
namespace {

void BM_EngineOpsPerSecond(benchmark::State& state) {
  EngineSpec spec;
  spec.levels.push_back({"hbm", 80e9, 3.35e12, 500e-9});
  std::vector<OpWork> work;
  for (int64_t i = 0; i < state.range(0); ++i) {
    work.push_back(OpWork::single(1e-6 * double(1 + i % 7), {1e6 * double(1 + i % 5)}, 3e-6));
  }
  for (auto _ : state) benchmark::DoNotOptimize(simulate_ops(spec, work));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["ops_per_s"] =
      benchmark::Counter(double(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineOpsPerSecond)
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->Arg(4096)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The simulation runs on a worker thread, so wall time (UseRealTime) is the honest measure.
// One point of llama2-7b on h100 from a cold op cache: graph build, device mapping, simulation.
void BM_Llama7bPoint(benchmark::State& state, Phase phase, int64_t batch, int64_t prompt,
                     int64_t ctx) {
  ConfigStore store;
  auto dev = make_device(store.load("h100", "hw"), "h100");
  ModelConfig model = parse_model(store.load("llama2-7b", "models"));
  for (auto _ : state) {
    OpCache cache;
    PointSpec spec;
    spec.phase = phase;
    spec.batch = batch;
    spec.prompt = prompt;
    spec.ctx = ctx;
    benchmark::DoNotOptimize(evaluate_point(*dev, cache, model, spec));
  }
}
BENCHMARK_CAPTURE(BM_Llama7bPoint, prefill_2048, Phase::kPrefill, 1, 2048, 2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Llama7bPoint, decode_ctx2048, Phase::kDecode, 1, 0, 2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The whole default experiment (three devices, two phases) as `xpusim run` does it.
void BM_DefaultExperiment(benchmark::State& state) {
  ConfigStore store;
  CfgNode tree = store.load("default", "experiments");
  for (auto _ : state) {
    ExperimentRunner runner(store);
    benchmark::DoNotOptimize(runner.run(tree, {}));
  }
}
BENCHMARK(BM_DefaultExperiment)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace xpusim

int main(int argc, char** argv) { return run_simulator_benchmarks(argc, argv); }
