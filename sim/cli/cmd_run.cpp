// `xpusim run`: resolves an experiment (default: the embedded default), applies command-line
// overrides, times every point and prints a table, JSON lines or CSV; writes the output folder.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "reports/experiment_output.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "workloads/graph.h"

namespace xpusim::cli {
namespace {

const char* kRunUsage =
    "usage: xpusim run [EXPERIMENT.yaml|NAME] [--hw NAME|FILE]... [--model NAME|FILE] [--phase "
    "P]... [--batch N]\n"
    "                  [--prompt N] [--ctx N] [--gen N] [--set key.path=value]... [--format "
    "table|json|csv]\n"
    "                  [--quant SCHEME] [--kv-quant SCHEME] [--prune SCHEME] [--tp N|auto] [--pp "
    "N] [--ep N]\n"
    "                  [--attention fused|unfused] [--limits enforce|warn] [--out DIR | --no-out] "
    "[--dump-graph]\n\n"
    "Times each (hardware, model, phase) point of an experiment. Without EXPERIMENT it runs the "
    "built-in\n"
    "`default` experiment. --set keys starting with `hw.` apply to every hardware file, `model.` "
    "to the model,\n"
    "others to the experiment (e.g. --set hw.hbm.bw=\"4 TB/s\" --set batch=8).";

std::string list_value(const std::vector<std::string>& items) {
  std::string v = "[";
  for (size_t i = 0; i < items.size(); ++i) v += (i ? ", " : "") + items[i];
  return v + "]";
}

void dump_graph(const ExperimentResult& r, std::ostream& out) {
  for (const auto& p : r.points) {
    out << fmt::format("# {} {} {} batch={} prompt={} ctx={}\n", p.hw, p.model, phase_name(p.phase),
                       p.batch, p.prompt, p.ctx);
    out << fmt::format("{:<18} {:<11} {:>6} {:<6} {:<44} {:>12} {:>12}\n", "op", "kind", "count",
                       "dtype", "shape", "GFLOP", "MB");
    for (const auto& o : p.ops) {
      out << fmt::format("{:<18} {:<11} {:>6} {:<6} {:<44} {:>12.4f} {:>12.4f}\n", o.op.name,
                         op_kind_name(o.op.kind), o.count, dtype_name(o.op.dtype),
                         op_shape_label(o.op), o.op.flops / 1e9, o.op.total_bytes() / 1e6);
    }
  }
}

}  // namespace

int cmd_run(const Args& args) {
  po::options_description opts("run options");
  std::vector<std::string> hw, phases, sets;
  std::string experiment = "default", model, format = "table", out_dir;
  opts.add_options()("experiment", po::value(&experiment), "experiment file or preset name")(
      "hw", po::value(&hw)->composing(),
      "hardware preset or file (repeatable, or comma-separated)")("model", po::value(&model),
                                                                  "model preset or file")(
      "phase", po::value(&phases)->composing(),
      "prefill|decode|generate (repeatable, or comma-separated)")(
      "batch", po::value<std::string>(), "sequences per batch")("prompt", po::value<std::string>(),
                                                                "prompt tokens per sequence")(
      "ctx", po::value<std::string>(), "context of a decode step")(
      "gen", po::value<std::string>(), "new tokens per sequence (generate)")(
      "quant", po::value<std::string>(),
      "bf16|fp16|fp8|int8|w8a16|w4a16, or a comma-separated list (one point each)")(
      "kv-quant", po::value<std::string>(), "KV cache: bf16|fp16|int8|fp8")(
      "prune", po::value<std::string>(), "2:4|unstructured:D[:csr|bitmap]|heads:F|ffn:F|layers:F")(
      "tp", po::value<std::string>(), "tensor-parallel degree, or auto (the smallest that fits)")(
      "pp", po::value<std::string>(), "pipeline stages")("ep", po::value<std::string>(),
                                                         "expert-parallel degree (MoE)")(
      "microbatches", po::value<std::string>(), "pipeline micro-batches (default min(batch, pp))")(
      "attention", po::value<std::string>(), "fused (flash-style, default) or unfused")(
      "limits", po::value<std::string>(),
      "enforce (default) or warn: time points beyond memory or positions anyway")(
      "set", po::value(&sets)->composing(), "override key.path=value (repeatable)")(
      "format", po::value(&format), "table|json|csv (default table)")(
      "out", po::value(&out_dir), "output folder (default xpusim-out/<experiment name>)")(
      "no-out", "do not write the output folder")("dump-graph",
                                                  "print the operator list of each point");
  po::positional_options_description pos;
  pos.add("experiment", 1);
  po::variables_map vm;
  if (!parse_options(args, kRunUsage, opts, pos, vm)) return 0;
  if (format != "table" && format != "json" && format != "csv")
    throw UsageError(fmt::format("--format '{}' is not one of table, json, csv", format));

  ConfigStore store;
  CfgNode tree = store.load(experiment, "experiments");
  ErrorList errors;
  auto flag = [&](const std::string& key, const std::string& value, const std::string& origin) {
    apply_override(tree, key + "=" + value, errors, origin);
  };
  // The experiment's description no longer describes it once its hardware or model is replaced.
  if (!hw.empty() || !model.empty()) flag("description", "''", "--hw/--model");
  if (!hw.empty()) flag("hw", list_value(split_list(hw)), "--hw");
  if (!model.empty()) flag("model", model, "--model " + model);
  if (!phases.empty()) flag("phases", list_value(split_list(phases)), "--phase");
  for (const char* key : {"batch", "prompt", "ctx", "gen", "prune", "pp", "ep", "microbatches",
                          "attention", "limits"})
    if (vm.count(key))
      flag(key, vm[key].as<std::string>(), fmt::format("--{} {}", key, vm[key].as<std::string>()));
  if (vm.count("quant"))
    flag("quant", list_value(split_list({vm["quant"].as<std::string>()})),
         "--quant " + vm["quant"].as<std::string>());
  if (vm.count("kv-quant"))
    flag("kv_quant", vm["kv-quant"].as<std::string>(),
         "--kv-quant " + vm["kv-quant"].as<std::string>());
  if (vm.count("tp")) {
    const std::string tp = vm["tp"].as<std::string>();
    flag("tp", tp == "auto" ? "0" : tp, "--tp " + tp);
  }
  errors.throw_if_any();

  const std::string reference = find_repo_path("workloads/models/tiny-llama");
  ExperimentRunner runner(store, std::filesystem::exists(reference) ? reference : "");
  ExperimentResult result;
  {
    // Points done, rate and ETA on a terminal; a plain line every 5 s otherwise.
    ProgressLine line(std::cerr, isatty(STDERR_FILENO), "run", "points");
    auto progress = [&](size_t done, size_t total, const PointResult& p) {
      line.update(done, total, fmt::format("{} {} {}", p.hw, p.model, phase_name(p.phase)));
    };
    result = runner.run(tree, RunOverrides{sets}, progress);
  }

  if (vm.count("dump-graph"))
    dump_graph(result, std::cout);
  else if (format == "json")
    print_json_lines(result, std::cout);
  else if (format == "csv")
    print_csv(result, std::cout);
  else
    print_table(result, std::cout);

  if (!vm.count("no-out")) {
    if (out_dir.empty()) out_dir = "xpusim-out/" + result.config.name;
    write_output_dir(result, out_dir);
    std::cerr << fmt::format(
        "xpusim: results, per-op breakdown, statistics and resolved configs in {}/\n", out_dir);
  }
  const bool any_ran = std::any_of(result.points.begin(), result.points.end(),
                                   [](const PointResult& p) { return p.ok; });
  if (!any_ran) {
    std::cerr << fmt::format("xpusim run: none of the {} point{} could run (each says why)\n",
                             result.points.size(), result.points.size() == 1 ? "" : "s");
    return kExitNoPointRan;
  }
  return 0;
}

}  // namespace xpusim::cli
