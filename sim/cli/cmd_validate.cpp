// `xpusim validate`: the GPU model against measured kernels (H100 dataset in validation/gpu/data;
// LLMCompass's A100 data for --hw a100), with per-category error tables for the calibration and
// hold-out sets, per-row predictions as CSV, and the calibration search (--fit).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "arch/registry.h"
#include "sim/cli/options.h"
#include "sim/config_store.h"
#include "validation/validate.h"

namespace xpusim::cli {
namespace {

namespace fs = std::filesystem;

// A default data folder is looked for in the working directory and above the executable (the
// binary lives in build/<dir>/), so that `xpusim validate` works from the repository and its
// builds.
std::string find_default(const std::string& relative) {
  std::vector<fs::path> bases = {fs::current_path()};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      bases.push_back(p);
  for (const auto& b : bases)
    if (fs::is_directory(b / relative)) return (b / relative).string();
  return relative;
}

// The calibrated keys of a GPU preset, with the values they have in the resolved tree.
const std::vector<std::string> kFitKeys = {"hbm.efficiency",
                                           "sm_resources.load_bytes_per_clk",
                                           "l2.bw",
                                           "launch_overhead",
                                           "kernels.gemm.efficiency.bf16",
                                           "kernels.gemm.efficiency.fp16",
                                           "kernels.gemm.efficiency.fp8",
                                           "kernels.gemm.efficiency.int8",
                                           "kernels.gemm.efficiency.tf32",
                                           "kernels.gemm.efficiency.fp32",
                                           "kernels.gemm.fixed",
                                           "kernels.gemm.unaligned_per_clk",
                                           "kernels.gemm.unaligned_bw",
                                           "kernels.sparse_2_4.efficiency",
                                           "kernels.sparse_2_4.skinny_bf16.fixed",
                                           "kernels.sparse_2_4.skinny_bf16.bw",
                                           "kernels.sparse_2_4.skinny_fp16.fixed",
                                           "kernels.sparse_2_4.skinny_fp16.bw",
                                           "kernels.attention.cta_overhead",
                                           "kernels.attention.efficiency",
                                           "kernels.attention.prefill_fixed",
                                           "kernels.attention.decode_fixed",
                                           "kernels.attention.decode_load_bytes_per_clk",
                                           "kernels.elementwise.rmsnorm.bw",
                                           "kernels.elementwise.rmsnorm.cycles_per_elem",
                                           "kernels.elementwise.rmsnorm.fixed",
                                           "kernels.elementwise.layernorm.bw",
                                           "kernels.elementwise.layernorm.cycles_per_elem",
                                           "kernels.elementwise.layernorm.fixed",
                                           "kernels.elementwise.softmax.bw",
                                           "kernels.elementwise.softmax.cycles_per_elem",
                                           "kernels.elementwise.softmax.fixed",
                                           "kernels.elementwise.gelu.bw",
                                           "kernels.elementwise.gelu.cycles_per_elem",
                                           "kernels.elementwise.gelu.fixed",
                                           "kernels.elementwise.silu_mul.bw",
                                           "kernels.elementwise.silu_mul.cycles_per_elem",
                                           "kernels.elementwise.silu_mul.fixed",
                                           "kernels.elementwise.residual_add.bw",
                                           "kernels.elementwise.residual_add.cycles_per_elem",
                                           "kernels.elementwise.residual_add.fixed"};

}  // namespace

int cmd_validate(const Args& args) {
  const char* usage =
      "usage: xpusim validate [--hw NAME|FILE] [--data DIR] [--a100-data DIR] [--out FILE.csv] "
      "[--set key=value]...\n"
      "                       [--fit] [--rounds N]\n\n"
      "Runs the GPU model over measured kernels and prints MAPE, 90th-percentile and worst |error| "
      "per category,\n"
      "for the calibration and the hold-out rows separately. --hw h100 (default) uses the H100 "
      "dataset in\n"
      "validation/gpu/data; --hw a100 uses LLMCompass's public A100 measurements and prints "
      "LLMCompass's\n"
      "published errors beside ours. --fit searches the calibrated parameters on the calibration "
      "rows only\n"
      "and prints their values.";
  po::options_description opts("validate options");
  std::string hw = "h100", data, a100_data, out_file;
  std::vector<std::string> sets;
  int rounds = 3;
  opts.add_options()("hw", po::value(&hw), "hardware preset or file (default h100)")(
      "data", po::value(&data), "folder of the measured GPU dataset (default validation/gpu/data)")(
      "a100-data", po::value(&a100_data),
      "folder of LLMCompass's A100 data (default ../shared/reference-data/a100-llmcompass)")(
      "out", po::value(&out_file), "write per-row predictions to this CSV")(
      "set", po::value(&sets)->composing(),
      "override a hardware parameter: key.path=value (repeatable)")(
      "fit", "fit the calibrated parameters on the calibration rows and print them")(
      "rounds", po::value(&rounds), "coordinate-search rounds for --fit (default 3)");
  po::variables_map vm;
  if (!parse_options(args, usage, opts, {}, vm)) return 0;

  ConfigStore store;
  CfgNode base = store.load(hw, "hw");
  const CfgNode* n = base.find("name");
  const std::string name = n && n->is_scalar() && !n->scalar.empty() ? n->scalar : hw;
  auto build = [&](const std::vector<std::string>& extra) {
    CfgNode tree = base;
    ErrorList errors;
    for (const auto& s : sets) apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
    for (const auto& s : extra) apply_override(tree, s, errors, "--fit");
    errors.throw_if_any();
    return make_device(tree, name);
  };
  auto device = build({});
  if (device->family() != "gpu")
    throw UsageError(fmt::format("'{}' is not a GPU; validate covers GPUs", hw));

  const bool a100 = name == "a100";
  std::vector<ValidationRow> rows;
  std::string title;
  if (a100) {
    if (a100_data.empty()) a100_data = find_default("../shared/reference-data/a100-llmcompass");
    rows = load_llmcompass_a100(a100_data);
    title = fmt::format(
        "xpusim validate --hw {}: LLMCompass A100 measurements in {} (nothing fitted on them)",
        name, a100_data);
  } else {
    if (data.empty()) data = find_default("validation/gpu/data");
    rows = load_gpu_dataset(data);
    title = fmt::format("xpusim validate --hw {}: measured H100 kernels in {}", name, data);
  }

  if (vm.count("fit")) {
    if (a100) throw UsageError("--fit calibrates on the H100 dataset; use --hw h100");
    std::vector<std::pair<std::string, std::string>> start;
    CfgNode tree = base;
    ErrorList errors;
    for (const auto& s : sets) apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
    errors.throw_if_any();
    for (const auto& k : kFitKeys) {
      const CfgNode* v = tree.find_path(k);
      if (!v || !v->is_scalar())
        throw UsageError(fmt::format("the hardware file has no '{}' to fit", k));
      start.emplace_back(k, v->scalar);
    }
    // Only the calibration rows are simulated while fitting.
    std::vector<ValidationRow> calib;
    for (const auto& r : rows)
      if (r.set == "calibration") calib.push_back(r);
    auto objective = [&](const std::vector<std::string>& overrides) {
      std::unique_ptr<Device> dev;
      try {
        dev = build(overrides);
      } catch (const ConfigError&) {
        return std::numeric_limits<double>::infinity();  // a step left the parameter's range
      }
      predict_rows(*dev, calib);
      return calibration_objective(calib);
    };
    FitResult fit = fit_parameters(start, objective, rounds, &std::cerr);
    std::cout << fmt::format("# mean calibration MAPE over categories: {:.2f}% -> {:.2f}%\n",
                             fit.objective_before * 100, fit.objective_after * 100);
    for (const auto& [k, v] : fit.values) std::cout << fmt::format("{}: {}\n", k, v);
    return 0;
  }

  predict_rows(*device, rows);
  print_stats(std::cout, summarize(rows), title);
  if (!out_file.empty()) {
    std::ofstream f(out_file);
    if (!f) throw ConfigError(SourceLoc{out_file, 0, 0}, "--out", "cannot write the file");
    write_rows_csv(f, rows);
  }
  return 0;
}

}  // namespace xpusim::cli
