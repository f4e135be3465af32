// `xpusim validate`: the GPU model against measured kernels (H100 dataset in validation/gpu/data,
// H200 in validation/gpu/h200/data; LLMCompass's A100 data for --hw a100), with per-category error
// tables for the calibration and hold-out sets, per-row predictions as CSV, and the calibration
// search (--fit, on the H100 calibration rows only).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "arch/cpu/cpu_config.h"
#include "arch/gpu/gpu_config.h"
#include "arch/registry.h"
#include "sim/base/file_read.h"
#include "sim/base/units.h"
#include "sim/base/output_files.h"
#include "sim/cli/options.h"
#include "sim/config/config_store.h"
#include "validation/validate.h"

namespace xpusim::cli {
namespace {

namespace fs = std::filesystem;

// The set named by a dataset's frozen.txt (its first line that is not a comment), or "".
// A small text file of a dataset, or "" when it has none.
std::string dataset_text(const std::string& dir, const char* name) {
  const fs::path p = fs::path(dir) / name;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(p, ec))) return "";
  return read_file_bounded(p.string(), "--data", 1 << 20);
}

std::string frozen_set_of(const std::string& dir) {
  std::istringstream in(dataset_text(dir, "frozen.txt"));
  std::string line;
  while (std::getline(in, line)) {
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty() && line[0] != '#') return line;
  }
  return "";
}

// The card named in a dataset's env.csv (key gpu_name), for the title; empty if none.
std::string card_of(const std::string& dir) {
  std::istringstream in(dataset_text(dir, "env.csv"));
  std::string line;
  while (std::getline(in, line)) {
    const auto k = line.find(",gpu_name,");
    if (k != std::string::npos) return line.substr(k + 10);
  }
  return "";
}

// Predicts CPU rows, each through a device built for its library (`library=<lib>`) and the
// machine instance it was measured on (the row's `instance` overrides, applied last).
void predict_cpu_rows(std::vector<ValidationRow>& rows,
                      const std::function<std::unique_ptr<Device>(const std::vector<std::string>&)>&
                          build,
                      const std::vector<std::string>& extra) {
  using Key = std::pair<std::string, std::vector<std::string>>;
  std::vector<Key> keys;
  for (const auto& r : rows) {
    Key k{r.library, r.instance};
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  for (const auto& key : keys) {
    std::vector<std::string> o = extra;
    if (!key.first.empty()) o.push_back("library=" + key.first);
    o.insert(o.end(), key.second.begin(), key.second.end());
    auto dev = build(o);
    std::vector<ValidationRow> part;
    for (const auto& r : rows)
      if (r.library == key.first && r.instance == key.second) part.push_back(r);
    predict_rows(*dev, part);
    size_t k = 0;
    for (auto& r : rows)
      if (r.library == key.first && r.instance == key.second) r = part[k++];
  }
}

// `xpusim validate --hw <cpu>`: the CPU datasets of validation/cpu (issue 13).
int validate_cpu(const po::variables_map& vm, const std::string& name, std::string data,
                 const std::string& out_file, const std::string& fit_only,
                 const std::string& fit_categories, int rounds, const CfgNode& tree,
                 const std::function<std::unique_ptr<Device>(const std::vector<std::string>&)>&
                     build) {
  std::vector<ValidationRow> rows;
  // The instance a dataset was measured on, as measured in the same run (instance_calibration.csv;
  // validation/cpu/README.md, host3): its overrides apply to that dataset's rows only, and
  // `--no-instance` leaves them out (every row on the preset's values).
  ErrorList cfg_errors;
  const CpuConfig preset = cpu_schema().parse(tree, cfg_errors);
  cfg_errors.throw_if_any();
  auto instance_of = [&](const std::string& dir) {
    return vm.count("no-instance") ? std::vector<std::string>{}
                                   : cpu_instance_overrides(dir, preset.dram.latency_s);
  };
  if (data.empty()) {
    // Each measured CPU has its folders (validation/cpu/README.md); a later measurement's
    // hold-out is named after it (host2: "holdout2"), so that it is reported apart from the
    // first, spent one.
    struct Folder {
      const char *preset, *folder, *holdout;
    };
    static const Folder kData[] = {
        {"emr-16c", "validation/cpu/h200host-xeon-16c", "holdout"},
        {"emr-16c", "validation/cpu/h200host-xeon-16c-host2", "holdout2"},
        {"emr-16c", "validation/cpu/h200host-xeon-16c-host3", "holdout3"},
        {"emr-16c", "validation/cpu/h200host-xeon-16c-host4", "holdout4"},
        {"emr-16c", "validation/cpu/h200host-xeon-16c-host5", "holdout5"},
        {"epyc-milan-2c", "validation/cpu/local-epyc-2c-libs", "holdout"}};
    for (const auto& d : kData) {
      if (name != d.preset) continue;
      const std::string dir = find_repo_path(d.folder);
      if (!fs::is_directory(dir)) continue;
      data += (data.empty() ? "" : ", ") + dir;
      const std::vector<std::string> inst = instance_of(dir);
      for (ValidationRow& r : load_cpu_dataset(dir)) {
        if (r.set == "holdout") r.set = d.holdout;
        r.instance = inst;
        rows.push_back(std::move(r));
      }
    }
    if (data.empty())
      throw UsageError(fmt::format("no measured dataset for the CPU '{}' (measured: emr-16c, "
                                   "epyc-milan-2c); pass --data DIR",
                                   name));
  } else {
    // --data DIR[,DIR...]: each folder's rows on its own measured instance.
    for (const std::string& dir : split_list({data})) {
      const std::vector<std::string> inst = instance_of(dir);
      for (ValidationRow& r : load_cpu_dataset(dir)) {
        r.instance = inst;
        rows.push_back(std::move(r));
      }
    }
  }
  if (vm.count("frozen")) throw UsageError("--frozen: the CPU datasets have no frozen hold-out");
  if (vm.count("calibration"))
    std::erase_if(rows, [](const ValidationRow& r) { return r.set != "calibration"; });
  if (vm.count("fit")) {
    // The CPU schema's fitted values differ per CPU: --fit-only names the keys (comma-separated,
    // exact), searched on the calibration rows only.
    std::vector<std::pair<std::string, std::string>> start;
    auto probe = build({});
    (void)probe;
    for (const std::string& kv : split_list({fit_only})) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos)
        throw UsageError(
            fmt::format("--fit-only on a CPU takes key=start pairs; '{}' has no start value", kv));
      start.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (start.empty()) throw UsageError("--fit on a CPU needs --fit-only key=start,...");
    // --fit-categories: only the calibration rows whose category starts with one of the prefixes.
    const std::vector<std::string> cats = split_list({fit_categories});
    std::vector<ValidationRow> calib;
    for (const auto& r : rows) {
      bool want = cats.empty();
      for (const auto& c : cats) want = want || r.category.rfind(c, 0) == 0;
      if (r.set == "calibration" && want) calib.push_back(r);
    }
    if (calib.empty())
      throw UsageError(fmt::format("--fit-categories '{}' matches no calibration row", fit_categories));
    auto objective = [&](const std::vector<std::string>& overrides) {
      try {
        predict_cpu_rows(calib, build, overrides);
      } catch (const ConfigError&) {
        return std::numeric_limits<double>::infinity();
      }
      return calibration_objective(calib);
    };
    FitResult fit = fit_parameters(start, objective, rounds, &std::cerr);
    std::cout << fmt::format("# mean calibration MAPE over categories: {:.2f}% -> {:.2f}%\n",
                             fit.objective_before * 100, fit.objective_after * 100);
    for (const auto& [k, v] : fit.values) std::cout << fmt::format("{}: {}\n", k, v);
    return 0;
  }
  predict_cpu_rows(rows, build, {});
  print_stats(std::cout, summarize(rows),
              fmt::format("xpusim validate --hw {}: measured CPU kernels in {}", name, data));
  if (!out_file.empty()) {
    std::ostringstream f;
    write_rows_csv(f, rows);
    write_file(out_file, f.str());
  }
  return 0;
}

}  // namespace

int cmd_validate(const Args& args) {
  const char* usage =
      "usage: xpusim validate [--hw NAME|FILE] [--data DIR] [--a100-data DIR] [--out FILE.csv] "
      "[--set key=value]...\n"
      "                       [--fit [--fit-only KEY_PREFIX,...] [--fit-categories PREFIX,...]] "
      "[--rounds N] [--frozen]\n\n"
      "Runs the GPU model over measured kernels and prints MAPE, 90th-percentile and worst\n"
      "|error| per category, separately for the hold-out rows, the later GEMM hold-outs\n"
      "(holdout6 to holdout9, seen while the model changed) and the calibration rows; the card's\n"
      "frozen hold-out (frozen.txt in its dataset) only with --frozen, and then alone. --hw h100 "
      "(default) uses the H100\n"
      "dataset in "
      "validation/gpu/data, --hw h200 the H200 dataset in validation/gpu/h200/data; --hw a100\n"
      "uses LLMCompass's public A100 measurements and prints LLMCompass's published errors\n"
      "beside ours. --fit searches the parameters that the GPU schema marks as calibrated on\n"
      "h100-kernels (xpusim describe gpu), on the H100 calibration rows only, and prints their\n"
      "values (--fit-only limits it to the keys that start with one of the prefixes). The a100 and h200 presets are never refitted.\n\n"
      "On a CPU preset (emr-16c / spr-16c, epyc-milan-2c / zen4-2c) it runs the CPU model over the\n"
      "measured GEMM, STREAM and decoder rows in validation/cpu/<host>/ (emr-16c: also the later\n"
      "host sets -host2 to -host5, whose hold-outs are reported as holdout2 to holdout5; host4 and\n"
      "host5 rows are compared by their best_ms, the best of 3 randomised visits), each\n"
      "GEMM row through the library that ran it and each decoder row as the forward pass `run`\n"
      "builds; a folder with instance_calibration.csv is predicted on the DRAM rates (and, with\n"
      "per-vCPU FMA maps, the shared vCPUs) measured on its machine instance (--no-instance: on\n"
      "the preset's); --data DIR[,DIR...] reads only those folders; --calibration leaves the hold-outs\n"
      "out; --fit --fit-only key=start,... [--fit-categories PREFIX,...] searches the named keys\n"
      "on the calibration rows.";
  po::options_description opts("validate options");
  std::string hw = "h100", data, a100_data, out_file, fit_only, fit_categories;
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
      "rounds", po::value(&rounds), "coordinate-search rounds for --fit (default 3)")(
      "calibration", "CPU datasets: the calibration rows only (the hold-out is not read)")(
      "no-instance",
      "CPU datasets: predict every row on the preset's values, not on the machine instance its "
      "dataset measured (instance_calibration.csv)")(
      "fit-categories", po::value(&fit_categories),
      "with --fit: only the calibration rows whose category starts with one of these "
      "comma-separated prefixes enter the objective (e.g. attention,elementwise)")(
      "frozen",
      "read the card's frozen hold-out (named in the dataset's frozen.txt) and nothing else; "
      "once per model change that the README reports")(
      "energy",
      "the energy model against the card's board-energy counter (validation/gpu/energy/NAME: "
      "calibration rows; with --holdout the hold-out rows, once per model change; with --fit the "
      "energy parameters are fitted on the calibration rows)")(
      "holdout", "with --energy: read the hold-out rows instead of the calibration rows")(
      "area",
      "the first-order die-area model (arch/area.h) of every hardware preset that gives its "
      "published die area, against that area; with --fit, area.overhead fitted on one die (a100, "
      "or --hw) first; --set area.KEY=V applies to every preset with an area model");
  po::variables_map vm;
  if (!parse_options(args, usage, opts, {}, vm)) return 0;

  ConfigStore store;
  if (vm.count("area")) {
    // --fit: area.overhead from one die (the a100's, or --hw's), then every preset with it.
    std::vector<std::string> area_sets;
    for (const auto& s : sets) area_sets.push_back(s.starts_with("hw.") ? s.substr(3) : s);
    if (vm.count("fit")) {
      const std::string die = vm.count("hw") ? hw : "a100";
      std::optional<double> fitted;
      for (const auto& r : area_rows(store, area_sets))
        if (r.hw == die) fitted = fit_area_overhead(r.area);
      if (!fitted) throw UsageError("--area --fit: " + die + " has no published die area");
      std::cout << fmt::format("# area.overhead fitted on {}'s published die area: {:.4g}\n", die,
                               *fitted);
      area_sets.push_back(fmt::format("area.overhead={:.4g}", *fitted));
    }
    print_area_rows(std::cout, area_rows(store, area_sets));
    return 0;
  }
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
  if (vm.count("energy")) {
    if (vm.count("holdout") && vm.count("fit"))
      throw UsageError("--holdout cannot be combined with --fit");
    if (data.empty()) data = find_repo_path("validation/gpu/energy/" + name);
    const bool holdout = vm.count("holdout") > 0;
    if (holdout && !fs::exists(fs::path(data) / "holdout.csv"))
      throw UsageError(fmt::format(
          "{} has no unread hold-out (holdout.csv): a hold-out that was read is calibration "
          "(calibration_was_*.csv); plan and measure a new one",
          data));
    std::vector<EnergyRow> rows = load_energy_dataset(data, holdout);
    if (vm.count("fit")) {
      std::vector<std::pair<std::string, std::string>> start;
      CfgNode tree = base;
      ErrorList errors;
      for (const auto& s : sets)
        apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
      errors.throw_if_any();
      const SchemaBase& schema = gpu_schema();
      for (const auto& k : schema.calibrated_paths("h200-energy")) {
        bool wanted = fit_only.empty();
        for (const std::string& prefix : split_list({fit_only}))
          if (k.rfind(prefix, 0) == 0) wanted = true;
        if (!wanted) continue;
        const CfgNode* v = tree.find_path(k);
        const ParamSpec* spec = schema.find(k);
        std::string val = v && v->is_scalar() ? v->scalar : spec && spec->default_text ? *spec->default_text : "";
        // A parameter at 0 cannot move under a multiplicative search: start it small instead.
        if (auto x = parse_number(val.substr(0, val.find(' '))); x && *x == 0) continue;
        start.emplace_back(k, val);
      }
      if (start.empty()) throw UsageError("no nonzero energy parameter to fit");
      auto objective = [&](const std::vector<std::string>& overrides) {
        std::unique_ptr<Device> dev;
        try {
          dev = build(overrides);
        } catch (const ConfigError&) {
          return std::numeric_limits<double>::infinity();
        }
        predict_energy_rows(*dev, rows);
        return energy_objective(rows);
      };
      FitResult fit = fit_parameters(start, objective, rounds, &std::cerr);
      std::cout << fmt::format("# energy objective on the calibration rows: {:.4f} -> {:.4f}\n",
                               fit.objective_before, fit.objective_after);
      for (const auto& [k, v] : fit.values) std::cout << fmt::format("{}: {}\n", k, v);
      return 0;
    }
    predict_energy_rows(*device, rows);
    print_energy_rows(std::cout, rows,
                      fmt::format("xpusim validate --hw {} --energy: {} rows of {}", name,
                                  holdout ? "hold-out" : "calibration", data));
    if (!out_file.empty()) {
      std::ostringstream f;
      f << "file,line,case,category,set,measured_s,pred_s,measured_j,pred_j,measured_w,pred_w,"
           "measured_clock_mhz,pred_clock_mhz,error\n";
      for (const auto& r : rows)
        f << fmt::format("{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{}\n",
                         r.file, r.line, r.label, r.category, r.set, r.measured_s, r.pred_s,
                         r.measured_j, r.pred_j, r.measured_w, r.pred_w, r.measured_clock_mhz,
                         r.pred_clock_mhz, r.pred_ok ? fmt::format("{:.4f}", r.error()) : "");
      write_file(out_file, f.str());
    }
    return 0;
  }
  if (device->family() == "cpu") return validate_cpu(vm, name, data, out_file, fit_only, fit_categories, rounds, base, build);
  if (device->family() != "gpu")
    throw UsageError(fmt::format("'{}' is not a GPU or a CPU; validate covers those", hw));

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
    // The frozen hold-out is left out unless asked for, and then it is all that is read.
    const std::string frozen = frozen_set_of(data);
    if (!frozen.empty()) {
      const bool want = vm.count("frozen") > 0;
      std::erase_if(rows, [&](const ValidationRow& r) { return (r.set == frozen) != want; });
      std::cout << (want ? fmt::format("# reading the frozen hold-out '{}': report its number in "
                                       "the README with the model change it measures\n",
                                       frozen)
                         : fmt::format("# the frozen hold-out '{}' is not read (--frozen reads "
                                       "it)\n",
                                       frozen));
    } else if (vm.count("frozen")) {
      throw UsageError(fmt::format("{} names no frozen hold-out (frozen.txt)", data));
    }
    const std::string card = card_of(data);
    title = fmt::format("xpusim validate --hw {}: measured kernels in {}{}", name, data,
                        card.empty() ? "" : " (" + card + ")");
  }

  if (vm.count("frozen") && (a100 || vm.count("fit")))
    throw UsageError(
        a100 ? "--frozen: LLMCompass's A100 data is read whole (nothing is fitted on it)"
             : "--frozen cannot be combined with --fit");
  // The software-stack datasets (validation/gpu/stacks/<card>) fit their own keys: the Hopper
  // attention kernels, PyTorch eager's and torch.compile's elementwise kernels.
  const bool stacks_data = !a100 && (fs::exists(fs::path(data) / "attention_calibration.csv") ||
                                     fs::exists(fs::path(data) / "e2e_stacks_calibration.csv") ||
                                     fs::exists(fs::path(data) / "elementwise_calibration.csv"));
  if (vm.count("fit")) {
    if (a100 || (name == "h200" && !stacks_data))
      throw UsageError(fmt::format(
          "--fit calibrates on the H100 dataset (or a stacks dataset, validation/gpu/stacks/h200); "
          "the {} preset is never refitted on its kernel data (use --hw h100)",
          name));
    const std::vector<std::string> prefixes = split_list({fit_only});
    std::vector<std::pair<std::string, std::string>> start;
    CfgNode tree = base;
    ErrorList errors;
    for (const auto& s : sets) apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
    errors.throw_if_any();
    // The fitted set is what the GPU schema marks as calibrated on the H100 kernel dataset.
    const SchemaBase& schema = gpu_schema();
    for (const auto& k : schema.calibrated_paths(stacks_data ? "h200-stacks" : "h100-kernels")) {
      if (!prefixes.empty() && std::none_of(prefixes.begin(), prefixes.end(),
                                            [&](const std::string& p) { return k.starts_with(p); }))
        continue;
      const CfgNode* v = tree.find_path(k);
      const ParamSpec* spec = schema.find(k);
      if (v && v->is_scalar())
        start.emplace_back(k, v->scalar);
      else if (spec && spec->default_text)
        start.emplace_back(k, *spec->default_text);
      else
        throw UsageError(fmt::format("the hardware file has no '{}' to fit", k));
    }
    if (start.empty())
      throw UsageError(fmt::format("--fit-only '{}' matches no calibrated key", fit_only));
    // Only the calibration rows are simulated while fitting.
    const std::vector<std::string> cats = split_list({fit_categories});
    std::vector<ValidationRow> calib;
    for (const auto& r : rows)
      if (r.set == "calibration" &&
          (cats.empty() || std::any_of(cats.begin(), cats.end(), [&](const std::string& c) {
             return r.category.starts_with(c);
           })))
        calib.push_back(r);
    if (calib.empty())
      throw UsageError(
          fmt::format("--fit-categories '{}' matches no calibration row", fit_categories));
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
    std::ostringstream f;
    write_rows_csv(f, rows);
    write_file(out_file, f.str());
  }
  return 0;
}

}  // namespace xpusim::cli
