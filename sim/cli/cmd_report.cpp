// `xpusim report`: reads run output folders, sweep stores or files, validation and numerics
// results, and writes one self-contained HTML report (inline SVG charts) or Markdown with the
// charts as SVG files beside it.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "reports/report_build.h"
#include "reports/report_document.h"
#include "reports/report_inputs.h"
#include "sim/base/output_files.h"
#include "sim/cli/options.h"
#include "sim/config/config_store.h"

namespace xpusim::cli {
namespace {

const char* kReportUsage =
    "usage: xpusim report RESULTS... [-o FILE] [--format html|md] [--title TEXT]\n\n"
    "Writes a report of RESULTS: run output folders (xpusim-out/<experiment>, or their\n"
    "results.json), sweep stores (.sqlite), sweep files or names (their store, constraints and\n"
    "objectives), `validate --out` CSV files and `numerics --format json|csv` outputs, in any\n"
    "mix. HTML (default) is one file with inline SVG charts that fetches and runs nothing; md\n"
    "writes Markdown with the charts as SVG files in <FILE stem>_files/ beside it.\n"
    "Default FILE: xpusim-out/report.html (or .md).";

}  // namespace

int cmd_report(const Args& args) {
  po::options_description opts("report options");
  std::vector<std::string> inputs;
  std::string out_file, format = "html", title;
  opts.add_options()("input", po::value(&inputs)->composing(), "results to report")(
      "out,o", po::value(&out_file), "output file (default xpusim-out/report.html or .md)")(
      "format", po::value(&format), "html|md (default html)")(
      "title", po::value(&title), "the report's title (default: from the inputs)");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (!parse_options(args, kReportUsage, opts, pos, vm)) return 0;
  if (format != "html" && format != "md")
    throw UsageError(fmt::format("--format '{}' is not one of html, md", format));
  if (inputs.empty())
    throw UsageError(
        "report needs at least one result (a run folder, sweep, "
        "validate CSV or numerics output)");
  if (out_file.empty())
    out_file = format == "md" ? "xpusim-out/report.md" : "xpusim-out/report.html";

  ConfigStore store;
  const ReportInputs in = load_report_inputs(inputs, store);
  if (title.empty()) {
    title = "xpusim report";
    if (in.runs.size() == 1)
      title += ": " + std::filesystem::path(in.runs[0].source).filename().string();
    else if (in.sweeps.size() == 1 && in.runs.empty())
      title += ": sweep " + in.sweeps[0].name;
  }
  const ReportDocument doc = build_report(in, title);
  const auto parent = std::filesystem::path(out_file).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (format == "md")
    write_markdown(doc, out_file);
  else
    write_file(out_file, render_html(doc));
  std::cerr << fmt::format("xpusim: report ({} chart{}) in {}\n", doc.charts(),
                           doc.charts() == 1 ? "" : "s", out_file);
  return 0;
}

}  // namespace xpusim::cli
