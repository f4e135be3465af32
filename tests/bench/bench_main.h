// The main() of the simulator benchmarks: SystemC's banner off (it would go to stdout, among the
// results), then Google Benchmark as usual.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>

inline int run_simulator_benchmarks(int argc, char** argv) {
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
