// xpusim entry point: dispatches to a subcommand and maps errors to exit codes
// (0 ok, 1 a failed write or an internal error, 2 user error with a clear message, 3 a run none
// of whose points could run).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "sim/base/errors.h"
#include "sim/base/suggest.h"
#include "sim/base/version.h"
#include "sim/cli/cli.h"

namespace {

const char* kUsage = R"(xpusim: performance model of LLM inference on CPUs, GPUs and TPUs

usage: xpusim <command> [options]      (xpusim <command> --help for its options)
       xpusim --version

commands:
  run       time an experiment (default: configs/experiments/default.yaml)
  predict   predict operator times from a CSV of GEMM/attention/elementwise rows
  check     validate configuration files without running anything
  describe  print the configuration schema of a type (gpu, cpu, tpu, model, experiment)
  list      list the built-in presets
  validate  compare the GPU model with measured kernels (error tables per category)
  numerics  run a real or synthetic LLaMA through compression schemes on a preset's datapath
  sweep     run a design-space sweep into a resumable store (sweep export, sweep merge)
  report    write an HTML (or Markdown) report with charts of runs, sweeps and validations
)";

struct Command {
  const char* name;
  int (*fn)(const xpusim::cli::Args&);
};

}  // namespace

int main(int argc, char** argv) {
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  using namespace xpusim::cli;
  const Command commands[] = {{"run", cmd_run},          {"predict", cmd_predict},
                              {"check", cmd_check},      {"describe", cmd_describe},
                              {"list", cmd_list},        {"validate", cmd_validate},
                              {"numerics", cmd_numerics},        {"sweep", cmd_sweep},
                              {"report", cmd_report}};
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version" || std::string(argv[1]) == "version") {
    std::cout << fmt::format("xpusim {} (git {})\n", xpusim::version(), xpusim::git_commit());
    return 0;
  }
  const std::string name = argv[1];
  Args args(argv + 2, argv + argc);
  std::vector<std::string> names;
  for (const auto& c : commands) {
    names.push_back(c.name);
    if (name != c.name) continue;
    try {
      const int code = c.fn(args);
      // Results on a full disk or a closed pipe are a failure, not a success with nothing said.
      errno = 0;
      if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout.flush())
        throw xpusim::OutputError("standard output",
                                  errno ? std::strerror(errno) : "the stream reported an error");
      return code;
    } catch (const xpusim::OutputError& e) {
      std::cerr << fmt::format("xpusim {}: {}\n", name, e.what());
      return kExitFailure;
    } catch (const xpusim::ConfigError& e) {
      std::cerr << e.what() << "\n";
      std::cerr << fmt::format("xpusim {}: {} error{} in the configuration\n", name,
                               e.issues().size(), e.issues().size() == 1 ? "" : "s");
      return kExitUserError;
    } catch (const UsageError& e) {
      std::cerr << fmt::format("xpusim {}: {}\n(see xpusim {} --help)\n", name, e.what(), name);
      return kExitUserError;
    } catch (const std::exception& e) {
      std::cerr << fmt::format("xpusim {}: internal error: {}\n", name, e.what());
      return kExitFailure;
    }
  }
  std::cerr << fmt::format("xpusim: unknown command '{}'{}\n\n{}", name,
                           xpusim::did_you_mean(name, names), kUsage);
  return 2;
}
