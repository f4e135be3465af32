// HTML and Markdown renderings of a report document (report_document.h).
#include "reports/report_document.h"

#include <fmt/format.h>

#include "reports/html_escape.h"
#include "sim/base/file_name.h"
#include "sim/base/output_files.h"

namespace xpusim {

void ReportDocument::heading(const std::string& t, int level) {
  ReportBlock b;
  b.kind = ReportBlock::Kind::kHeading;
  b.level = level;
  b.text = t;
  blocks.push_back(std::move(b));
}

void ReportDocument::text(const std::string& t) {
  ReportBlock b;
  b.kind = ReportBlock::Kind::kText;
  b.text = t;
  blocks.push_back(std::move(b));
}

void ReportDocument::table(ReportTable t) {
  ReportBlock b;
  b.kind = ReportBlock::Kind::kTable;
  b.table = std::move(t);
  blocks.push_back(std::move(b));
}

void ReportDocument::chart(const std::string& name, const std::string& svg,
                           const std::string& caption) {
  ReportBlock b;
  b.kind = ReportBlock::Kind::kChart;
  b.svg = svg;
  b.text = caption;
  b.name = fmt::format("chart-{:02}-{}", charts() + 1, safe_file_name(name, "chart"));
  blocks.push_back(std::move(b));
}

size_t ReportDocument::charts() const {
  size_t n = 0;
  for (const auto& b : blocks) n += b.kind == ReportBlock::Kind::kChart;
  return n;
}

namespace {

// Readable at laptop width: the body is at most 1100 px wide, charts scale down with it, and wide
// tables scroll inside their own box instead of widening the page.
const char* kCss = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
margin:0;color:#1d1d1f;background:#f6f7f9;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px;background:#fff}
h1{font-size:1.6em;margin:.4em 0 .2em}h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ddd;
padding-bottom:.2em}h3{font-size:1.08em;margin-top:1.2em}
.sub{color:#555;font-size:.9em;margin:0}
nav ul{columns:2;font-size:.92em}
figure{margin:12px 0 18px}figure svg{width:100%;max-width:960px;height:auto;border:1px solid #e4e4e4}
figcaption{font-size:.85em;color:#555}
.tw{overflow-x:auto;margin:8px 0 16px}
table{border-collapse:collapse;font-size:.86em}
th,td{padding:3px 8px;border-bottom:1px solid #e6e6e6;text-align:left;white-space:nowrap}
th{background:#f0f2f5;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
p{max-width:80ch}
)";

std::string anchor(size_t i) { return fmt::format("s{}", i); }

}  // namespace

std::string render_html(const ReportDocument& doc) {
  std::string out;
  out.reserve(1 << 20);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  // Nothing to fetch and nothing to run: a policy that forbids both documents it.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">";
  out += fmt::format("<title>{}</title><style>{}</style></head><body><main>\n",
                     html_escape(doc.title), kCss);
  out += fmt::format("<h1>{}</h1>\n", html_escape(doc.title));
  for (const auto& s : doc.subtitle)
    out += fmt::format("<p class=\"sub\">{}</p>\n", html_escape(s));
  out += "<nav><ul>";
  for (size_t i = 0; i < doc.blocks.size(); ++i)
    if (doc.blocks[i].kind == ReportBlock::Kind::kHeading && doc.blocks[i].level == 2)
      out += fmt::format("<li><a href=\"#{}\">{}</a></li>", anchor(i),
                         html_escape(doc.blocks[i].text));
  out += "</ul></nav>\n";
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const ReportBlock& b = doc.blocks[i];
    switch (b.kind) {
      case ReportBlock::Kind::kHeading:
        out +=
            fmt::format("<h{0} id=\"{1}\">{2}</h{0}>\n", b.level, anchor(i), html_escape(b.text));
        break;
      case ReportBlock::Kind::kText:
        out += fmt::format("<p>{}</p>\n", html_escape(b.text));
        break;
      case ReportBlock::Kind::kTable: {
        out += "<div class=\"tw\"><table><thead><tr>";
        for (const auto& h : b.table.header) out += "<th>" + html_escape(h) + "</th>";
        out += "</tr></thead><tbody>\n";
        for (const auto& row : b.table.rows) {
          out += "<tr>";
          for (size_t c = 0; c < row.size(); ++c) {
            const bool n = c < b.table.numeric.size() && b.table.numeric[c];
            out += (n ? "<td class=\"n\">" : "<td>") + html_escape(row[c]) + "</td>";
          }
          out += "</tr>\n";
        }
        out += "</tbody></table></div>\n";
        break;
      }
      case ReportBlock::Kind::kChart:
        out += "<figure>" + b.svg;
        if (!b.text.empty()) out += "<figcaption>" + html_escape(b.text) + "</figcaption>";
        out += "</figure>\n";
        break;
    }
  }
  out += "</main></body></html>\n";
  return out;
}

std::vector<std::filesystem::path> write_markdown(const ReportDocument& doc,
                                                  const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  const std::string dir_name = path.stem().string() + "_files";
  const fs::path dir = path.parent_path() / dir_name;
  std::vector<fs::path> written;
  std::string md = fmt::format("# {}\n\n", md_escape(doc.title));
  for (const auto& s : doc.subtitle) md += md_escape(s) + "  \n";
  md += "\n";
  for (const auto& b : doc.blocks) {
    switch (b.kind) {
      case ReportBlock::Kind::kHeading:
        md += fmt::format("{} {}\n\n", std::string(size_t(b.level), '#'), md_escape(b.text));
        break;
      case ReportBlock::Kind::kText:
        md += md_escape(b.text) + "\n\n";
        break;
      case ReportBlock::Kind::kTable: {
        auto row = [&](const std::vector<std::string>& cells) {
          std::string line = "|";
          for (const auto& c : cells) line += " " + md_escape(c) + " |";
          return line + "\n";
        };
        md += row(b.table.header);
        md += "|";
        for (size_t c = 0; c < b.table.header.size(); ++c)
          md += c < b.table.numeric.size() && b.table.numeric[c] ? " ---: |" : " --- |";
        md += "\n";
        for (const auto& r : b.table.rows) md += row(r);
        md += "\n";
        break;
      }
      case ReportBlock::Kind::kChart: {
        const fs::path file = dir / (b.name + ".svg");
        fs::create_directories(dir);
        write_file(file, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + b.svg + "\n");
        written.push_back(file);
        md += fmt::format("![{}]({}/{}.svg)\n\n", md_escape(b.name), dir_name, b.name);
        if (!b.text.empty()) md += "*" + md_escape(b.text) + "*\n\n";
        break;
      }
    }
  }
  write_file(path, md);
  written.push_back(path);
  return written;
}

}  // namespace xpusim
