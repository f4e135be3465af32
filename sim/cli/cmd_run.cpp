// `xpusim run`: resolves an experiment (default: the embedded default), applies command-line
// overrides, times every point and prints a table, JSON lines or CSV; writes the output folder.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "reports/experiment_output.h"
#include "reports/trace_writer.h"
#include "sim/base/output_files.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/config/config_store.h"
#include "sim/run/experiment.h"
#include "sim/run/numerics_cache.h"
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
    "                  [--attention fused|unfused] [--stack PRESET[,key=value]...] [--limits "
    "enforce|warn] [--out DIR | --no-out] "
    "[--dump-graph]\n"
    "                  [--numerics] [--trace FILE.json]\n\n"
    "Times each (hardware, model, phase) point of an experiment. Without EXPERIMENT it runs the "
    "built-in\n"
    "`default` experiment; with --hw or --model but no EXPERIMENT it runs an ad-hoc experiment of "
    "what was\n"
    "asked (bf16 unless --quant, no numerics unless --numerics, named after the options, e.g.\n"
    "llama2-7b_h100_decode, with its own output folder). --set keys starting with `hw.` apply to "
    "every hardware file, `model.` "
    "to the model,\n"
    "others to the experiment (e.g. --set hw.hbm.bw=\"4 TB/s\" --set batch=8).";

std::string list_value(const std::vector<std::string>& items) {
  std::string v = "[";
  for (size_t i = 0; i < items.size(); ++i) v += (i ? ", " : "") + items[i];
  return v + "]";
}

// A file path names its point by its stem (configs/hw/gpu/h100.yaml -> h100).
std::string stem_of(const std::string& name) {
  const auto stem = std::filesystem::path(name).stem().string();
  return stem.empty() ? name : stem;
}

// The scalar or list at `key` of an experiment tree, as name parts.
std::vector<std::string> tree_items(const CfgNode& tree, const char* key) {
  std::vector<std::string> items;
  if (const CfgNode* n = tree.find(key)) {
    if (n->is_scalar()) items.push_back(n->scalar);
    for (const auto& e : n->seq)
      if (e.is_scalar()) items.push_back(e.scalar);
  }
  return items;
}

// Keeps what the name rule allows: letters, digits, '-', '+', '_' and '.', nothing else.
std::string name_part(std::string text) {
  for (char& ch : text)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '+' && ch != '.')
      ch = '_';
  return text;
}

// An ad-hoc run's name: what was asked, in order (llama2-7b_h100_decode; more devices or phases
// joined with '+'), then each further setting given on the command line (_batch8, _int8).
std::string adhoc_name(const CfgNode& tree, const std::vector<std::string>& settings) {
  auto joined = [](const std::vector<std::string>& items, bool stems) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : "+") + (stems ? stem_of(i) : i);
    return out;
  };
  std::string name =
      fmt::format("{}_{}_{}", stem_of(tree_items(tree, "model").front()),
                  joined(tree_items(tree, "hw"), true), joined(tree_items(tree, "phases"), false));
  for (const auto& s : settings) name += "_" + s;
  return name_part(name);
}

}  // namespace

int cmd_run(const Args& args) {
  po::options_description opts("run options");
  std::vector<std::string> hw, phases, sets, quant;
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
      "quant", po::value(&quant)->composing(),
      "bf16|fp16|fp8|int8|w8a16|w4a16 (repeatable, or comma-separated; one point each)")(
      "kv-quant", po::value<std::string>(), "KV cache: bf16|fp16|int8|fp8")(
      "prune", po::value<std::string>(), "2:4|unstructured:D[:csr|bitmap]|heads:F|ffn:F|layers:F")(
      "tp", po::value<std::string>(), "tensor-parallel degree, or auto (the smallest that fits)")(
      "pp", po::value<std::string>(), "pipeline stages")("ep", po::value<std::string>(),
                                                         "expert-parallel degree (MoE)")(
      "microbatches", po::value<std::string>(), "pipeline micro-batches (default min(batch, pp))")(
      "attention", po::value<std::string>(), "fused (flash-style, default) or unfused")(
      "stack", po::value<std::string>(),
      "software stack: reference (default), torch-eager, torch-compiled or serving, with "
      "overrides such as torch-eager,attention=flash2")(
      "limits", po::value<std::string>(),
      "enforce (default) or warn: time points beyond memory or positions anyway")(
      "set", po::value(&sets)->composing(), "override key.path=value (repeatable)")(
      "format", po::value(&format), "table|json|csv (default table)")(
      "out", po::value(&out_dir), "output folder (default xpusim-out/<experiment name>)")(
      "no-out", "do not write the output folder")(
      "numerics", "add the numerics column (the reference model through each point's scheme)")(
      "dump-graph", "print the operator list of each point")(
      "trace", po::value<std::string>(),
      "write the engine's timeline of each point as Chrome trace events (Perfetto, "
      "chrome://tracing)");
  po::positional_options_description pos;
  pos.add("experiment", 1);
  po::variables_map vm;
  if (!parse_options(args, kRunUsage, opts, pos, vm)) return 0;
  if (format != "table" && format != "json" && format != "csv")
    throw UsageError(fmt::format("--format '{}' is not one of table, json, csv", format));

  ConfigStore store;
  CfgNode tree = store.load(experiment, "experiments");
  ErrorList errors;
  // Settings given as options, for an ad-hoc run's name (not --hw/--model/--phase: the name
  // starts with those).
  std::vector<std::string> named_settings;
  auto flag = [&](const std::string& key, const std::string& value, const std::string& origin) {
    apply_override(tree, key + "=" + value, errors, origin);
  };
  // No experiment named, but a device or a model asked for: an ad-hoc experiment of what was
  // asked, on the default experiment's workload, with one scheme (bf16) and no numerics unless
  // the options ask for them.
  const bool adhoc = !vm.count("experiment") && (!hw.empty() || !model.empty());
  if (adhoc) {
    flag("quant", "[bf16]", "ad-hoc run (no experiment file)");
    flag("numerics", "false", "ad-hoc run (no experiment file)");
  }
  if (vm.count("numerics")) flag("numerics", "true", "--numerics");
  // The experiment's description no longer describes it once its hardware or model is replaced.
  if (!hw.empty() || !model.empty()) flag("description", "''", "--hw/--model");
  if (!hw.empty()) flag("hw", list_value(split_list(hw)), "--hw");
  if (!model.empty()) flag("model", model, "--model " + model);
  if (!phases.empty()) flag("phases", list_value(split_list(phases)), "--phase");
  for (const char* key : {"batch", "prompt", "ctx", "gen", "prune", "tp", "pp", "ep",
                          "microbatches", "attention", "stack", "limits"})
    if (vm.count(key)) {
      const auto& value = vm[key].as<std::string>();
      flag(key, value, fmt::format("--{} {}", key, value));
      named_settings.push_back(key + value);
    }
  if (!quant.empty()) {
    const auto schemes = split_list(quant);
    flag("quant", list_value(schemes), "--quant " + fmt::format("{}", fmt::join(schemes, ",")));
    named_settings.push_back(fmt::format("{}", fmt::join(schemes, "+")));
  }
  if (vm.count("kv-quant")) {
    const auto& value = vm["kv-quant"].as<std::string>();
    flag("kv_quant", value, "--kv-quant " + value);
    named_settings.push_back("kv" + value);
  }
  for (const auto& s : sets)  // experiment-level --set keys name the run too (batch=8 -> batch8)
    if (!s.starts_with("hw") && !s.starts_with("model.") && !s.starts_with("name") &&
        !s.starts_with("description") && s.find('=') != std::string::npos)
      named_settings.push_back(s.substr(0, s.find('=')) + s.substr(s.find('=') + 1));
  if (adhoc && errors.empty()) {
    flag("name", adhoc_name(tree, named_settings), "ad-hoc run (no experiment file)");
    flag("description", "'ad-hoc run from the command line'", "ad-hoc run (no experiment file)");
  }
  errors.throw_if_any();

  const std::string reference = find_repo_path("workloads/models/tiny-llama");
  ExperimentRunner runner(store, std::filesystem::exists(reference) ? reference : "");
  runner.set_numerics_cache_dir(numerics_cache_dir_from_env());
  runner.set_trace(vm.count("trace") > 0);
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
    print_graph(result, format, std::cout);
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
  if (vm.count("trace")) {
    const std::string path = vm["trace"].as<std::string>();
    std::ostringstream f;
    write_trace(result, f);
    write_file(path, f.str());
    std::cerr << fmt::format("xpusim: timeline trace (Chrome trace events) in {}\n", path);
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
