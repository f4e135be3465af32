// One point of a model on a hardware preset, simulated from a cold op cache at every iteration
// (every unique operator planned and simulated), for the per-family simulator-speed benchmarks.
#pragma once

#include <benchmark/benchmark.h>

#include <string>

#include "arch/registry.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "workloads/model.h"

namespace xpusim {

// Batch 1 of `model` on `hw` at `phase`, `prompt` and `ctx`. The simulation runs on a worker
// thread, so register these with UseRealTime: wall time is the honest measure.
inline void cold_point_loop(benchmark::State& state, const std::string& hw,
                            const std::string& model_name, Phase phase, int64_t prompt,
                            int64_t ctx) {
  ConfigStore store;
  auto dev = make_device(store.load(hw, "hw"), hw);
  ModelConfig model = parse_model(store.load(model_name, "models"));
  PointSpec spec;
  spec.phase = phase;
  spec.batch = 1;
  spec.prompt = prompt;
  spec.ctx = ctx;
  for (auto _ : state) {
    OpCache cache;
    auto r = evaluate_point(*dev, cache, model, spec);
    if (!r.ok) state.SkipWithError(r.reason.c_str());
    benchmark::DoNotOptimize(r);
  }
}

}  // namespace xpusim
