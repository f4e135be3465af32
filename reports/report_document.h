// A report as a list of blocks (headings, paragraphs, tables, charts) and its two renderings:
// one self-contained HTML file (inline CSS and SVG, no script, nothing fetched), or Markdown
// with each chart as an SVG file beside it. Every string is escaped here, at rendering.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xpusim {

struct ReportTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  // per column: right-aligned
};

struct ReportBlock {
  enum class Kind { kHeading, kText, kTable, kChart };
  Kind kind = Kind::kText;
  int level = 2;     // heading level
  std::string text;  // heading, paragraph, or the chart's caption
  ReportTable table;
  std::string svg;   // the chart (svg_chart.h)
  std::string name;  // the chart's file stem in Markdown (chart-03-roofline-h100)
};

struct ReportDocument {
  std::string title;
  std::vector<std::string> subtitle;  // lines under the title (sources, generator)
  std::vector<ReportBlock> blocks;

  void heading(const std::string& text, int level = 2);
  void text(const std::string& text);
  void table(ReportTable t);
  void chart(const std::string& name, const std::string& svg, const std::string& caption = "");
  size_t charts() const;
};

std::string render_html(const ReportDocument& doc);
// Writes `path` (Markdown) and the charts as `<stem>_files/<name>.svg` beside it; returns the
// files written.
std::vector<std::filesystem::path> write_markdown(const ReportDocument& doc,
                                                  const std::filesystem::path& path);

}  // namespace xpusim
