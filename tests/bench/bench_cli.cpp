// Whole-process speed of the command line: `xpusim list` (start-up and nothing else) and an ad-hoc
// `run` of one llama2-7b point, spawned side by side in every iteration, so that their ratio is
// measured under the same load. The numerics cache lives in a fresh folder, filled by a warm-up
// run first (the target is "under 100 ms after the first"; issue 11).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_main.h"

extern char** environ;

namespace {

// Runs the binary with `args`, output to /dev/null; returns its wall time in seconds, or -1.
double spawn_seconds(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string bin = XPUSIM_BINARY;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void BM_AdhocRunVsList(benchmark::State& state, std::vector<std::string> run_args) {
  const auto cache = std::filesystem::temp_directory_path() / "xpusim_bench_cli_cache";
  std::filesystem::remove_all(cache);
  setenv("XPUSIM_CACHE_DIR", cache.c_str(), 1);
  if (spawn_seconds(run_args) < 0) {  // the first run: fills the cache
    state.SkipWithError("the run failed");
    return;
  }
  double list_s = 0, run_s = 0;
  for (auto _ : state) {
    const double l = spawn_seconds({"list"}), r = spawn_seconds(run_args);
    if (l < 0 || r < 0) {
      state.SkipWithError("a command failed");
      return;
    }
    list_s += l;
    run_s += r;
    state.SetIterationTime(r);
  }
  const double n = double(state.iterations());
  state.counters["list_ms"] = list_s / n * 1e3;
  state.counters["run_ms"] = run_s / n * 1e3;
  state.counters["run/list"] = run_s / list_s;
  std::filesystem::remove_all(cache);
}

BENCHMARK_CAPTURE(BM_AdhocRunVsList, llama2_7b_h100_decode,
                  std::vector<std::string>{"run", "--hw", "h100", "--model", "llama2-7b",
                                           "--phase", "decode", "--no-out"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(BM_AdhocRunVsList, llama2_7b_h100_decode_numerics,
                  std::vector<std::string>{"run", "--hw", "h100", "--model", "llama2-7b",
                                           "--phase", "decode", "--numerics", "--no-out"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(BM_AdhocRunVsList, default_experiment,
                  std::vector<std::string>{"run", "--no-out"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace

int main(int argc, char** argv) { return run_simulator_benchmarks(argc, argv); }
