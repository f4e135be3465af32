// Sweep throughput (issue 16: at least 1,000 design points per minute per core): llama2-7b
// decode-step points whose hardware changes every point (a memory bandwidth swept), so the op
// cache is cold for the hardware, as in a sweep over hardware parameters. One runner, one thread;
// points/min is reported as a counter.
#include <fmt/format.h>

#include "bench_main.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"

namespace {

using namespace xpusim;

void BM_SweepPoint(benchmark::State& state, std::string hw, std::string bw_key) {
  ConfigStore store;
  ExperimentRunner runner(store);
  const CfgNode base = store.load("default", "experiments");
  int64_t i = 0;
  for (auto _ : state) {
    // A bandwidth no earlier point had: nothing of this hardware is in the op cache.
    const std::string bw = fmt::format("{}={:.6f} TB/s", bw_key, 0.5 + 1e-6 * double(i++));
    const auto r = runner.run(
        base, {{"hw=[" + hw + "]", "phases=[decode]", "quant=[bf16]", "numerics=false", bw}});
    if (r.points.empty() || !r.points[0].ok) state.SkipWithError("the point did not run");
    benchmark::DoNotOptimize(r.points[0].latency_s);
  }
  // Points per second of wall time (the target, 1,000 per minute, is 16.7 per second).
  state.counters["points"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_SweepPoint, gpu_h100, "h100", "hw.hbm.bw")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SweepPoint, tpu_v4, "tpu-v4", "hw.hbm.bw")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SweepPoint, cpu_xeon_8480, "xeon-8480", "hw.dram.bw")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return run_simulator_benchmarks(argc, argv); }
