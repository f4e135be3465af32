// `xpusim predict`: operator-level prediction of a CSV of GEMM, attention and elementwise rows.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "arch/registry.h"
#include "sim/base/output_files.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/config/config_store.h"
#include "sim/run/predict.h"

namespace xpusim::cli {

int cmd_predict(const Args& args) {
  const char* usage =
      "usage: xpusim predict --hw NAME|FILE --ops OPS.csv [--out FILE.csv] [--set "
      "key.path=value]...\n\n"
      "Rows: kind=gemm (M,K,N,dtype[,sparsity][,threads]), kind=attention "
      "(B,heads,kv_heads,head_dim,q_len,\n"
      "kv_len,causal,dtype), kind=elementwise (op,T,H,dtype). Unknown columns are copied to the "
      "output, which\n"
      "adds pred_ms, pred_cycles, pred_energy_j, bound and pred_error.";
  po::options_description opts("predict options");
  std::string hw, ops_file, out_file;
  std::vector<std::string> sets;
  opts.add_options()("hw", po::value(&hw), "hardware preset or file (required)")(
      "ops", po::value(&ops_file), "input CSV, or - for standard input (required)")(
      "out", po::value(&out_file), "output CSV (default: standard output)")(
      "set", po::value(&sets)->composing(),
      "override a hardware parameter: key.path=value (repeatable)");
  po::variables_map vm;
  if (!parse_options(args, usage, opts, {}, vm)) return 0;
  if (hw.empty()) throw UsageError("--hw is required");
  if (ops_file.empty()) throw UsageError("--ops is required");

  ConfigStore store;
  CfgNode tree = store.load(hw, "hw");
  ErrorList errors;
  for (const auto& s : sets) apply_override(tree, s.starts_with("hw.") ? s.substr(3) : s, errors);
  errors.throw_if_any();
  const CfgNode* n = tree.find("name");
  auto device = make_device(tree, n && n->is_scalar() && !n->scalar.empty() ? n->scalar : hw);

  CsvTable table;
  if (ops_file == "-") {
    table = read_csv(std::cin, "<stdin>");
  } else {
    table = read_csv_file(ops_file, "--ops");
  }
  OpCache cache;
  std::vector<std::vector<std::string>> rows;
  {
    // Rows done, rate and ETA for a long table (nothing for one that ends within seconds).
    ProgressLine line(std::cerr, isatty(STDERR_FILENO), "predict", "rows");
    rows = predict_table(*device, cache, table,
                         [&](size_t done, size_t total) { line.update(done, total, ""); });
  }
  if (out_file.empty()) {
    for (const auto& r : rows) write_csv_row(std::cout, r);
    return 0;
  }
  std::ostringstream out;
  for (const auto& r : rows) write_csv_row(out, r);
  write_file(out_file, out.str());
  return 0;
}

}  // namespace xpusim::cli
