// `xpusim validate`: the GPU model against measured kernels (H100 dataset in validation/gpu/data,
// H200 in validation/gpu/h200/data; LLMCompass's A100 data for --hw a100), with per-category error
// tables for the calibration and hold-out sets, per-row predictions as CSV, and the calibration
// search (--fit, on the H100 calibration rows only).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "arch/registry.h"
#include "sim/cli/options.h"
#include "sim/config/config_store.h"
#include "validation/validate.h"

namespace xpusim::cli {
namespace {

namespace fs = std::filesystem;

// The card named in a dataset's env.csv (key gpu_name), for the title; empty if none.
std::string card_of(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "env.csv");
  std::string line;
  while (std::getline(in, line)) {
    const auto k = line.find(",gpu_name,");
    if (k != std::string::npos) return line.substr(k + 10);
  }
  return "";
}

// The calibrated keys of a GPU preset, with the values they have in the resolved tree.
const std::vector<std::string> kFitKeys = {"hbm.efficiency",
                                           "sm_resources.load_bytes_per_clk",
                                           "l2.bw",
                                           "launch_overhead",
                                           "power.sustained_clock",
                                           "power.window",
                                           "kernels.gemm.efficiency.bf16",
                                           "kernels.gemm.efficiency.fp16",
                                           "kernels.gemm.efficiency.fp8",
                                           "kernels.gemm.efficiency.int8",
                                           "kernels.gemm.efficiency.tf32",
                                           "kernels.gemm.efficiency.fp32",
                                           "kernels.gemm.fixed",
                                           "kernels.gemm.extra_fixed.fp32",
                                           "kernels.gemm.extra_fixed.tf32",
                                           "kernels.gemm.extra_fixed.int8",
                                           "kernels.gemm.split_k_fixed",
                                           "kernels.gemm.imma_load_latency",
                                           "kernels.gemm.imma_narrow_tile_factor",
                                           "kernels.gemm.unaligned_per_clk",
                                           "kernels.gemm.unaligned_elem_per_clk",
                                           "kernels.gemm.unaligned_load_bytes_per_clk",
                                           "kernels.sparse_2_4.bf16.efficiency",
                                           "kernels.sparse_2_4.bf16.fixed",
                                           "kernels.sparse_2_4.bf16.slow_cycles",
                                           "kernels.sparse_2_4.bf16.slow_bytes_per_clk",
                                           "kernels.sparse_2_4.bf16.split_fixed",
                                           "kernels.sparse_2_4.fp16.efficiency",
                                           "kernels.sparse_2_4.fp16.fixed",
                                           "kernels.sparse_2_4.fp16.slow_cycles",
                                           "kernels.sparse_2_4.fp16.slow_bytes_per_clk",
                                           "kernels.sparse_2_4.fp16.split_fixed",
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
                                           "kernels.elementwise.residual_add.fixed",
                                           "kernels.elementwise.rope.bw",
                                           "kernels.elementwise.rope.cycles_per_elem",
                                           "kernels.elementwise.rope.fixed",
                                           "kernels.elementwise.kv_append.bw",
                                           "kernels.elementwise.kv_append.cycles_per_elem",
                                           "kernels.elementwise.kv_append.fixed"};

}  // namespace

int cmd_validate(const Args& args) {
  const char* usage =
      "usage: xpusim validate [--hw NAME|FILE] [--data DIR] [--a100-data DIR] [--out FILE.csv] "
      "[--set key=value]...\n"
      "                       [--fit [--fit-only KEY_PREFIX,...]] [--rounds N]\n\n"
      "Runs the GPU model over measured kernels and prints MAPE, 90th-percentile and worst\n"
      "|error| per category, separately for the hold-out rows, the later GEMM hold-outs\n"
      "(holdout6 to holdout9) and the calibration rows. --hw h100 (default) uses the H100\n"
      "dataset in "
      "validation/gpu/data, --hw h200 the H200 dataset in validation/gpu/h200/data; --hw a100\n"
      "uses LLMCompass's public A100 measurements and prints LLMCompass's published errors\n"
      "beside ours. --fit searches the calibrated parameters on the H100 calibration rows only\n"
      "and prints their values (--fit-only limits it to the keys that start with one of the\n"
      "prefixes). The a100 and h200 presets are never refitted.";
  po::options_description opts("validate options");
  std::string hw = "h100", data, a100_data, out_file, fit_only;
  std::vector<std::string> sets;
  int rounds = 3;
  opts.add_options()("hw", po::value(&hw), "hardware preset or file (default h100)")(
      "data", po::value(&data),
      "folder of the measured GPU dataset (default validation/gpu/data; for h200 "
      "validation/gpu/h200/data)")(
      "a100-data", po::value(&a100_data),
      "folder of LLMCompass's A100 data (default ../shared/reference-data/a100-llmcompass)")(
      "out", po::value(&out_file), "write per-row predictions to this CSV")(
      "set", po::value(&sets)->composing(),
      "override a hardware parameter: key.path=value (repeatable)")(
      "fit", "fit the calibrated parameters on the calibration rows and print them")(
      "fit-only", po::value(&fit_only),
      "with --fit: only the calibrated keys starting with one of these comma-separated prefixes")(
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
    if (a100_data.empty()) a100_data = find_repo_path("../shared/reference-data/a100-llmcompass");
    rows = load_llmcompass_a100(a100_data);
    title = fmt::format(
        "xpusim validate --hw {}: LLMCompass A100 measurements in {} (nothing fitted on them)",
        name, a100_data);
  } else {
    // Each measured card has its folder; the H100's is the original validation/gpu/data.
    if (data.empty() && name != "h100") {
      const std::string own = find_repo_path("validation/gpu/" + name + "/data");
      if (fs::is_directory(own)) data = own;
    }
    if (data.empty()) data = find_repo_path("validation/gpu/data");
    rows = load_gpu_dataset(data);
    const std::string card = card_of(data);
    title = fmt::format("xpusim validate --hw {}: measured kernels in {}{}", name, data,
                        card.empty() ? "" : " (" + card + ")");
  }

  if (vm.count("fit")) {
    if (a100 || name == "h200")
      throw UsageError(fmt::format(
          "--fit calibrates on the H100 dataset; the {} preset is never refitted (use --hw h100)",
          name));
    std::vector<std::string> prefixes;
    for (size_t b = 0; b < fit_only.size();) {
      size_t e = fit_only.find(',', b);
      if (e == std::string::npos) e = fit_only.size();
      if (e > b) prefixes.push_back(fit_only.substr(b, e - b));
      b = e + 1;
    }
    std::vector<std::pair<std::string, std::string>> start;
    CfgNode tree = base;
    ErrorList errors;
    for (const auto& s : sets) apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
    errors.throw_if_any();
    for (const auto& k : kFitKeys) {
      if (!prefixes.empty() && std::none_of(prefixes.begin(), prefixes.end(),
                                            [&](const std::string& p) { return k.starts_with(p); }))
        continue;
      const CfgNode* v = tree.find_path(k);
      if (!v || !v->is_scalar())
        throw UsageError(fmt::format("the hardware file has no '{}' to fit", k));
      start.emplace_back(k, v->scalar);
    }
    if (start.empty())
      throw UsageError(fmt::format("--fit-only '{}' matches no calibrated key", fit_only));
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
